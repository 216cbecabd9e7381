// Stylesheets are bundled by esbuild (build.mjs); importing one only adds it to the page's CSS.
declare module '*.css';

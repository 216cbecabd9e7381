/** The kernel's version; modules declare the semver range they were built for (`kernel:`). */
export const KERNEL_VERSION = '0.1.0';

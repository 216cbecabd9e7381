// Must be evaluated before @apollo/gateway loads: without it the gateway reports usage to
// Apollo and probes cloud metadata addresses. Nothing here may talk to anything but the
// configured subgraphs.
process.env.APOLLO_TELEMETRY_DISABLED = 'true';
export {};

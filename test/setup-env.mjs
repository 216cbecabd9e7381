// Every test process: test configuration, no phoning home.
process.env.PLATFORM_ENV = 'test';
process.env.APOLLO_TELEMETRY_DISABLED = 'true';

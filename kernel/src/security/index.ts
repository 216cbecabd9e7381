export { LoginThrottle, type LoginThrottleOptions, type ThrottleLimit } from './login-throttle.js';
export { accountKey, ipBucket, ipKey } from './throttle-keys.js';

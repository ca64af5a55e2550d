// Overrides for NODE_ENV=production.
export default {
  server: { trustProxy: true },
  logLevel: 'info',
};

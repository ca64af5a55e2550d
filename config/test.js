// Overrides for NODE_ENV=test (the test suite builds its own settings on top of these).
export default {
  server: { port: 0, host: '127.0.0.1' },
  logLevel: 'silent',
  bootstrap: false,
  cleanupInterval: 3600,
  webhooks: { pollInterval: 1 },
};

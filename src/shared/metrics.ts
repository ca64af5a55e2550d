// A few Prometheus counters and gauges, rendered at /metrics in the text exposition format.
type Labels = Record<string, string>;

class Counter {
  readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    // Hot path (every request): build the label string without intermediate arrays.
    let key = '';
    for (const k in labels) key += `${key ? ',' : ''}${k}="${labels[k]!.replace(/["\\\n]/g, '_')}"`;
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
}

export class Metrics {
  readonly httpRequests = new Counter('grantledger_http_requests_total', 'HTTP requests by status class.');
  readonly introspections = new Counter('grantledger_introspections_total', 'Introspection answers by auth type and activity.');
  readonly revocations = new Counter('grantledger_connections_revoked_total', 'Connected apps revoked.');
  readonly revokedTokens = new Counter('grantledger_revoked_tokens_total', 'Tokens, codes and grants deleted by revocations.');
  readonly webhooks = new Counter('grantledger_webhook_deliveries_total', 'Webhook delivery attempts by outcome.');
  readonly #started = Date.now();

  render(): string {
    const lines: string[] = [];
    for (const c of [this.httpRequests, this.introspections, this.revocations, this.revokedTokens, this.webhooks]) {
      lines.push(`# HELP ${c.name} ${c.help}`, `# TYPE ${c.name} counter`);
      if (c.values.size === 0) lines.push(`${c.name} 0`);
      for (const [labels, v] of c.values) lines.push(`${c.name}${labels ? `{${labels}}` : ''} ${v}`);
    }
    const mem = process.memoryUsage();
    lines.push(
      '# HELP grantledger_process_resident_memory_bytes Resident memory.', '# TYPE grantledger_process_resident_memory_bytes gauge',
      `grantledger_process_resident_memory_bytes ${mem.rss}`,
      '# HELP grantledger_process_heap_used_bytes V8 heap in use.', '# TYPE grantledger_process_heap_used_bytes gauge',
      `grantledger_process_heap_used_bytes ${mem.heapUsed}`,
      '# HELP grantledger_process_uptime_seconds Seconds since start.', '# TYPE grantledger_process_uptime_seconds gauge',
      `grantledger_process_uptime_seconds ${Math.round((Date.now() - this.#started) / 1000)}`,
    );
    return lines.join('\n') + '\n';
  }
}

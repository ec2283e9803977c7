import { expect } from 'chai';
import { sweepDecision, type SweepLimits, type Phase } from '../../lib/net/sweep-policy.js';

const limits: SweepLimits = {
  tls_handshake_timeout: 1000,
  header_timeout: 2000,
  body_timeout: 3000,
  keepalive_timeout: 4000,
  ws_ping_interval: 5000,
  ws_pong_timeout: 600,
  ws_close_timeout: 700,
};

describe('net/sweep-policy: one pure decision per connection', () => {
  const cases: [Phase, number, string][] = [
    ['tls-handshake', 1000, 'tls_handshake'],
    ['http-head', 2000, 'header'],
    ['http-body', 3000, 'body'],
    ['http-writing', 3000, 'send'],
    ['http-idle', 4000, 'keepalive'],
    ['ws-closing', 700, 'close'],
  ];
  for (const [phase, deadline, reason] of cases) {
    it(`closes a connection in ${phase} at ${deadline} ms (${reason}), not a millisecond before`, () => {
      expect(sweepDecision({ phase, since: 0, phaseStartedAt: 0, pingSentAt: null }, deadline - 1, limits)).to.deep.equal({ kind: 'keep' });
      expect(sweepDecision({ phase, since: 0, phaseStartedAt: 0, pingSentAt: null }, deadline, limits)).to.deep.equal({ kind: 'timeout', reason });
    });
  }

  it('closes a body that keeps trickling once BODY_DEADLINE_FACTOR × body_timeout has passed since its first byte', () => {
    // progress 1 ms ago every time, but the body began 3 × 3000 ms ago
    expect(sweepDecision({ phase: 'http-body', since: 8999, phaseStartedAt: 0, pingSentAt: null }, 8999, limits).kind).to.equal('keep');
    expect(sweepDecision({ phase: 'http-body', since: 8999, phaseStartedAt: 0, pingSentAt: null }, 9000, limits)).to.deep.equal({ kind: 'timeout', reason: 'body' });
  });

  it('never times out a connection whose own handler is working (http-busy)', () => {
    expect(sweepDecision({ phase: 'http-busy', since: 0, phaseStartedAt: 0, pingSentAt: null }, 1e9, limits).kind).to.equal('keep');
  });

  it('pings a quiet WebSocket after ws_ping_interval, and times it out ws_pong_timeout after the ping (RFC 6455 §5.5.2)', () => {
    expect(sweepDecision({ phase: 'ws-open', since: 0, phaseStartedAt: 0, pingSentAt: null }, 4999, limits).kind).to.equal('keep');
    expect(sweepDecision({ phase: 'ws-open', since: 0, phaseStartedAt: 0, pingSentAt: null }, 5000, limits).kind).to.equal('ping');
    expect(sweepDecision({ phase: 'ws-open', since: 0, phaseStartedAt: 0, pingSentAt: 5000 }, 5599, limits).kind).to.equal('keep');
    expect(sweepDecision({ phase: 'ws-open', since: 0, phaseStartedAt: 0, pingSentAt: 5000 }, 5600, limits)).to.deep.equal({ kind: 'timeout', reason: 'pong' });
  });
});

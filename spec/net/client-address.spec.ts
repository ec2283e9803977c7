import { expect } from 'chai';
import { clientAddress, expandIPv6, isLoopback, AddressMatcher, forwardedClient } from '../../lib/net/client-address.js';

describe('net/client-address', () => {
  it('unwraps IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2)', () => {
    expect(clientAddress('::ffff:10.1.2.3')).to.deep.equal({ ip: '10.1.2.3', group: '10.1.2.3' });
  });

  it('groups IPv6 clients by their /64 prefix', () => {
    const a = clientAddress('2001:db8:1:2:aaaa::1');
    const b = clientAddress('2001:db8:1:2:ffff:ffff:ffff:ffff');
    const c = clientAddress('2001:db8:1:3::1');
    expect(a.group).to.equal(b.group);
    expect(a.group).to.not.equal(c.group);
    expect(a.group).to.equal('2001:0db8:0001:0002::/64');
  });

  it('expands every IPv6 text form to eight groups (RFC 4291 §2.2)', () => {
    expect(expandIPv6('::1')).to.deep.equal(['0000', '0000', '0000', '0000', '0000', '0000', '0000', '0001']);
    expect(expandIPv6('fe80::')).to.have.length(8);
    expect(expandIPv6('::ffff:1.2.3.4').slice(6)).to.deep.equal(['0102', '0304']);
  });

  it('knows loopback: 127.0.0.0/8 and ::1', () => {
    expect(isLoopback('127.0.0.1')).to.equal(true);
    expect(isLoopback('127.45.6.7')).to.equal(true);
    expect(isLoopback('::1')).to.equal(true);
    expect(isLoopback('::ffff:127.0.0.1')).to.equal(true);
    expect(isLoopback('10.0.0.1')).to.equal(false);
  });

  it('matches addresses and CIDR prefixes for trust_proxy', () => {
    const m = new AddressMatcher(['10.0.0.0/8', '192.0.2.7', 'fd00::/8']);
    expect(m.matches('10.200.1.1')).to.equal(true);
    expect(m.matches('192.0.2.7')).to.equal(true);
    expect(m.matches('192.0.2.8')).to.equal(false);
    expect(m.matches('fd12::1')).to.equal(true);
    expect(m.matches('fe80::1')).to.equal(false);
  });

  it('takes the client from X-Forwarded-For only when the peer is a trusted proxy', () => {
    const trusted = new AddressMatcher(['127.0.0.1', '10.0.0.0/8']);
    expect(forwardedClient('127.0.0.1', ['203.0.113.9'], trusted)).to.equal('203.0.113.9');
    // the rightmost untrusted hop is the client; what it claims further left is not believed
    expect(forwardedClient('127.0.0.1', ['1.1.1.1, 203.0.113.9, 10.1.1.1'], trusted)).to.equal('203.0.113.9');
    // an untrusted peer cannot choose its address
    expect(forwardedClient('198.51.100.1', ['203.0.113.9'], trusted)).to.equal('198.51.100.1');
    // garbage in the header: fall back to the peer
    expect(forwardedClient('127.0.0.1', ['not-an-ip'], trusted)).to.equal('127.0.0.1');
    // trust_proxy off
    expect(forwardedClient('127.0.0.1', ['203.0.113.9'], new AddressMatcher([]))).to.equal('127.0.0.1');
  });
});

import { expect } from 'chai';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { createSelfSignedCertificate, ipAddressBytes, OID, type SelfSignedCertificateOptions } from '../../lib/net/self-signed-cert.js';
import { checkDerTree, children, decodeInteger, decodeOid, IDENTIFIER, readOne, type Tlv } from './der-reader.js';

const LOCALHOST: SelfSignedCertificateOptions = {
  commonName: 'localhost',
  dnsNames: ['localhost'],
  ipAddresses: ['127.0.0.1', '::1'],
  days: 30,
};
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const TLS_TEST_TIMEOUT_MS = 5_000;

/** Connect, read until the server ends, and resolve with what it sent; reject with the TLS error. Bounded in time. */
function fetchOverTls(options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('TLS test timed out'));
    }, TLS_TEST_TIMEOUT_MS);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

function derOfPem(pem: string): Buffer {
  const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}

/** The parts of a certificate by RFC 5280 §4.1 position. */
function dissect(certPem: string) {
  const [tbs, signatureAlgorithm, signatureValue] = children(readOne(derOfPem(certPem))) as [Tlv, Tlv, Tlv];
  const fields = children(tbs);
  const extensionsWrapper = fields[7]!;
  const extensions = children(children(extensionsWrapper)[0]!).map((ext) => {
    const parts = children(ext);
    return {
      oid: decodeOid(parts[0]!.contents),
      critical: parts.length === 3 && parts[1]!.identifier === IDENTIFIER.BOOLEAN,
      value: parts[parts.length - 1]!.contents,
    };
  });
  return { tbs, signatureAlgorithm, signatureValue, fields, extensions };
}

describe('self-signed certificate (lib/net/self-signed-cert.ts)', () => {
  const now = new Date('2030-05-06T07:08:09.500Z');
  const made = createSelfSignedCertificate({ ...LOCALHOST, now });
  const cert = new X509Certificate(made.certPem);

  describe('what Node (OpenSSL) reads back', () => {
    it('parses as an X.509 certificate with subject and issuer CN=localhost (RFC 5280 §4.1.2.4, §4.1.2.6)', () => {
      expect(cert.subject).to.equal('CN=localhost');
      expect(cert.issuer).to.equal('CN=localhost');
    });

    it('names localhost, 127.0.0.1 and ::1 in the subjectAltName (RFC 5280 §4.2.1.6)', () => {
      expect(cert.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
      expect(cert.checkHost('localhost')).to.equal('localhost');
      expect(cert.checkIP('127.0.0.1')).to.equal('127.0.0.1');
      expect(cert.checkIP('::1')).to.equal('::1');
      expect(cert.checkHost('example.com')).to.equal(undefined);
      expect(cert.checkIP('127.0.0.2')).to.equal(undefined);
    });

    it('is signed by its own key: verify(publicKey) holds, and fails for another key (RFC 5280 §4.1.1.3)', () => {
      expect(cert.verify(cert.publicKey)).to.equal(true);
      const other = new X509Certificate(createSelfSignedCertificate({ ...LOCALHOST, now }).certPem);
      expect(cert.verify(other.publicKey)).to.equal(false);
    });

    it('comes with the private key of its public key (checkPrivateKey)', () => {
      const key = createPrivateKey(made.keyPem);
      expect(cert.checkPrivateKey(key)).to.equal(true);
      expect(key.asymmetricKeyType).to.equal('ec');
      expect(key.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
      const otherKey = createPrivateKey(createSelfSignedCertificate({ ...LOCALHOST, now }).keyPem);
      expect(cert.checkPrivateKey(otherKey)).to.equal(false);
    });

    it('is valid from an hour before now to `days` after now, to the second (RFC 5280 §4.1.2.5)', () => {
      const whole = Math.floor(now.getTime() / 1000) * 1000;
      expect(Date.parse(cert.validFrom)).to.equal(whole - HOUR_MS);
      expect(Date.parse(cert.validTo)).to.equal(whole + 30 * DAY_MS);
    });

    it('writes validity from 2050 as GeneralizedTime, which Node reads back (RFC 5280 §4.1.2.5)', () => {
      const late = new Date('2049-12-31T12:00:00Z');
      const lateCert = new X509Certificate(createSelfSignedCertificate({ ...LOCALHOST, days: 2, now: late }).certPem);
      expect(Date.parse(lateCert.validFrom)).to.equal(late.getTime() - HOUR_MS);
      expect(Date.parse(lateCert.validTo)).to.equal(late.getTime() + 2 * DAY_MS);
      const { fields } = dissect(lateCert.toString());
      const [notBefore, notAfter] = children(fields[4]!);
      expect(notBefore!.identifier).to.equal(IDENTIFIER.UTC_TIME);
      expect(notAfter!.identifier).to.equal(IDENTIFIER.GENERALIZED_TIME);
    });

    it('is a leaf for TLS servers: not a CA, extKeyUsage serverAuth (RFC 5280 §4.2.1.9, §4.2.1.12)', () => {
      expect(cert.ca).to.equal(false);
      expect(cert.keyUsage).to.deep.equal([OID.SERVER_AUTH]);
    });

    it('has a random positive 16-byte serial, different every time (RFC 5280 §4.1.2.2)', () => {
      expect(cert.serialNumber).to.match(/^[4-7][0-9A-F]{31}$/);
      const serials = new Set(Array.from({ length: 5 }, () => new X509Certificate(createSelfSignedCertificate(LOCALHOST).certPem).serialNumber));
      expect(serials.size).to.equal(5);
    });

    it('embeds the public key that belongs to the PEM private key (RFC 5280 §4.1.2.7)', () => {
      const fromKey = createPublicKey(made.keyPem).export({ type: 'spki', format: 'der' });
      expect(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(fromKey)).to.equal(true);
    });

    it('round-trips the DER: Node’s raw bytes are exactly the bytes we encoded', () => {
      expect(cert.raw.equals(derOfPem(made.certPem))).to.equal(true);
    });
  });

  describe('the bytes, read by a strict DER reader', () => {
    const parts = dissect(made.certPem);

    it('is DER throughout: minimal lengths and integers, BOOLEAN 00/FF, no trailing bytes (X.690 §10, §11)', () => {
      const count = checkDerTree(readOne(derOfPem(made.certPem)));
      expect(count).to.be.greaterThan(30);
      for (const ext of parts.extensions) checkDerTree(readOne(ext.value));
    });

    it('is version 3, written as [0] EXPLICIT INTEGER 2 (RFC 5280 §4.1.2.1)', () => {
      const version = parts.fields[0]!;
      expect(version.identifier).to.equal(0xa0);
      expect(decodeInteger(children(version)[0]!.contents)).to.equal(2n);
    });

    it('names ecdsa-with-SHA256 with absent parameters, the same inside and outside the TBSCertificate (RFC 5280 §4.1.1.2, RFC 5758 §3.2)', () => {
      expect(parts.fields[2]!.encoded.equals(parts.signatureAlgorithm.encoded)).to.equal(true);
      const algorithm = children(parts.signatureAlgorithm);
      expect(algorithm).to.have.length(1);
      expect(decodeOid(algorithm[0]!.contents)).to.equal(OID.ECDSA_WITH_SHA256);
    });

    it('writes the signature as a BIT STRING with no unused bits holding DER SEQUENCE { r, s } (RFC 5758 §3.2)', () => {
      expect(parts.signatureValue.identifier).to.equal(IDENTIFIER.BIT_STRING);
      expect(parts.signatureValue.contents[0]).to.equal(0);
      const rs = children(readOne(parts.signatureValue.contents.subarray(1)));
      expect(rs.map((t) => t.identifier)).to.deep.equal([IDENTIFIER.INTEGER, IDENTIFIER.INTEGER]);
    });

    it('encodes the common name as UTF8String (RFC 5280 §4.1.2.4)', () => {
      const rdn = children(children(parts.fields[5]!)[0]!)[0]!;
      const [type, value] = children(rdn);
      expect(decodeOid(type!.contents)).to.equal(OID.COMMON_NAME);
      expect(value!.identifier).to.equal(IDENTIFIER.UTF8_STRING);
      expect(value!.contents.toString('utf8')).to.equal('localhost');
    });

    it('lists the five extensions, with only basicConstraints and keyUsage critical (RFC 5280 §4.2)', () => {
      expect(parts.extensions.map((e) => [e.oid, e.critical])).to.deep.equal([
        [OID.BASIC_CONSTRAINTS, true],
        [OID.KEY_USAGE, true],
        [OID.EXT_KEY_USAGE, false],
        [OID.SUBJECT_ALT_NAME, false],
        [OID.SUBJECT_KEY_IDENTIFIER, false],
      ]);
    });

    it('encodes basicConstraints cA:false as an empty SEQUENCE, DEFAULT omitted (RFC 5280 §4.2.1.9, X.690 §11.5)', () => {
      expect(parts.extensions[0]!.value.toString('hex')).to.equal('3000');
    });

    it('encodes keyUsage digitalSignature as bit 0 with 7 unused bits (RFC 5280 §4.2.1.3, X.690 §11.2.2)', () => {
      expect(parts.extensions[1]!.value.toString('hex')).to.equal('03020780');
    });

    it('writes the IPs as 4 and 16 octets and the DNS name as [2] IA5String (RFC 5280 §4.2.1.6)', () => {
      const names = children(readOne(parts.extensions[3]!.value)).map((t) => [t.identifier, t.contents.toString('hex')]);
      expect(names).to.deep.equal([
        [0x82, Buffer.from('localhost').toString('hex')],
        [0x87, '7f000001'],
        [0x87, '00000000000000000000000000000001'],
      ]);
    });

    it('derives the subjectKeyIdentifier as the SHA-1 of the public key bits (RFC 5280 §4.2.1.2 method 1)', () => {
      const spki = children(parts.fields[6]!);
      const keyBits = spki[1]!.contents.subarray(1); // skip the unused-bits octet
      const expected = createHash('sha1').update(keyBits).digest('hex');
      expect(readOne(parts.extensions[4]!.value).contents.toString('hex')).to.equal(expected);
    });
  });

  describe('PEM (RFC 7468 §2)', () => {
    it('wraps the base64 at 64 columns between BEGIN and END CERTIFICATE lines', () => {
      const lines = made.certPem.trimEnd().split('\n');
      expect(lines[0]).to.equal('-----BEGIN CERTIFICATE-----');
      expect(lines.at(-1)).to.equal('-----END CERTIFICATE-----');
      const body = lines.slice(1, -1);
      for (const line of body.slice(0, -1)) expect(line).to.have.length(64);
      expect(body.at(-1)!.length).to.be.within(1, 64);
      expect(made.keyPem).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    });
  });

  describe('options', () => {
    it('refuses a non-positive or non-finite number of days', () => {
      for (const days of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => createSelfSignedCertificate({ ...LOCALHOST, days }), String(days)).to.throw(RangeError);
      }
    });

    it('refuses DNS names outside the preferred name syntax, allowing a leading *. (RFC 5280 §4.2.1.6, RFC 6125 §6.4.3)', () => {
      for (const dnsName of ['', 'bad_name', '-a.example', 'a..b', 'exämple.com', 'a.*.example', `${'a'.repeat(64)}.com`]) {
        expect(() => createSelfSignedCertificate({ ...LOCALHOST, dnsNames: [dnsName] }), dnsName).to.throw(RangeError);
      }
      const wildcard = new X509Certificate(createSelfSignedCertificate({ ...LOCALHOST, dnsNames: ['*.chat.example'] }).certPem);
      expect(wildcard.checkHost('a.chat.example')).to.equal('*.chat.example');
      expect(wildcard.checkHost('chat.example')).to.equal(undefined);
    });

    it('refuses a SAN with no names at all (RFC 5280 §4.2.1.6)', () => {
      expect(() => createSelfSignedCertificate({ ...LOCALHOST, dnsNames: [], ipAddresses: [] })).to.throw(RangeError);
    });

    it('refuses an IP address it cannot parse', () => {
      expect(() => createSelfSignedCertificate({ ...LOCALHOST, ipAddresses: ['256.0.0.1'] })).to.throw(RangeError);
      expect(() => createSelfSignedCertificate({ ...LOCALHOST, ipAddresses: ['localhost'] })).to.throw(RangeError);
    });
  });

  describe('ipAddressBytes (RFC 5280 §4.2.1.6, RFC 4291 §2.2)', () => {
    const vectors: ReadonlyArray<readonly [string, string]> = [
      ['127.0.0.1', '7f000001'],
      ['0.0.0.0', '00000000'],
      ['255.255.255.255', 'ffffffff'],
      ['::1', '00000000000000000000000000000001'],
      ['::', '00000000000000000000000000000000'],
      ['2001:db8::8:800:200c:417a', '20010db80000000000080800200c417a'],
      ['ff01::101', 'ff010000000000000000000000000101'],
      ['fe80::', 'fe800000000000000000000000000000'],
      ['2001:DB8:0:0:8:800:200C:417A', '20010db80000000000080800200c417a'],
      ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
      ['::13.1.68.3', '0000000000000000000000000d014403'],
    ];
    for (const [text, expected] of vectors) {
      it(`turns ${text} into ${expected.length / 2} octets ${expected}`, () => {
        expect(ipAddressBytes(text).toString('hex')).to.equal(expected);
      });
    }

    it('refuses text that is not an address, and IPv6 zone ids', () => {
      for (const bad of ['', '1.2.3', '1::2::3', 'fe80::1%eth0', 'example.com', '12345::']) {
        expect(() => ipAddressBytes(bad), bad).to.throw(RangeError);
      }
    });
  });

  describe('in a real TLS handshake on loopback', () => {
    // `made` is dated 2030; a handshake needs a certificate valid today.
    const live = createSelfSignedCertificate(LOCALHOST);
    let server: tls.Server;
    let port = 0;

    before(async () => {
      server = tls.createServer({ cert: live.certPem, key: live.keyPem }, (socket) => socket.end('hello'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });

    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('is accepted with full verification for servername localhost, trusting only this certificate (RFC 6125 §6.4)', async () => {
      expect(await fetchOverTls({ host: '127.0.0.1', port, ca: live.certPem, servername: 'localhost' })).to.equal('hello');
    });

    it('is accepted for host 127.0.0.1 by its iPAddress entry, checked by checkServerIdentity (RFC 6125 §6.4, RFC 5280 §4.2.1.6)', async () => {
      const checked: string[] = [];
      const received = await fetchOverTls({
        host: '127.0.0.1',
        port,
        ca: live.certPem,
        checkServerIdentity: (host, peer) => {
          checked.push(host);
          return tls.checkServerIdentity(host, peer);
        },
      });
      expect(received).to.equal('hello');
      expect(checked).to.deep.equal(['127.0.0.1']);
    });

    it('is refused for a name it does not carry (ERR_TLS_CERT_ALTNAME_INVALID, RFC 6125 §6.4)', async () => {
      const error = await fetchOverTls({ host: '127.0.0.1', port, ca: live.certPem, servername: 'example.com' }).then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(error?.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
    });

    it('is refused by a client that trusts only a different certificate (RFC 5280 §6.1)', async () => {
      const stranger = createSelfSignedCertificate(LOCALHOST);
      const error = await fetchOverTls({ host: '127.0.0.1', port, ca: stranger.certPem, servername: 'localhost' }).then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(error?.code).to.be.oneOf(['DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN']);
    });

    it('is accepted on ::1 by its 16-octet iPAddress entry, where IPv6 loopback exists (RFC 5280 §4.2.1.6)', async function () {
      const v6 = tls.createServer({ cert: live.certPem, key: live.keyPem }, (socket) => socket.end('hello6'));
      const listening = await new Promise<boolean>((resolve) => {
        v6.once('error', () => resolve(false));
        v6.listen(0, '::1', () => resolve(true));
      });
      if (!listening) this.skip(); // this machine has no IPv6 loopback
      try {
        const v6port = (v6.address() as AddressInfo).port;
        expect(await fetchOverTls({ host: '::1', port: v6port, ca: live.certPem })).to.equal('hello6');
      } finally {
        await new Promise<void>((resolve) => v6.close(() => resolve()));
      }
    });
  });

  describe('openssl, when installed', () => {
    it('parses with `openssl x509 -noout -text` and shows every extension', function () {
      const result = spawnSync('openssl', ['x509', '-noout', '-text'], { input: made.certPem, encoding: 'utf8', timeout: 10_000 });
      if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.skip(); // openssl is not on the PATH; Node's own parsing above still checks the certificate
      }
      expect(result.status, result.stderr).to.equal(0);
      for (const expected of [
        'Version: 3 (0x2)',
        'Signature Algorithm: ecdsa-with-SHA256',
        'Subject: CN = localhost',
        'X509v3 Basic Constraints: critical',
        'CA:FALSE',
        'X509v3 Key Usage: critical',
        'Digital Signature',
        'TLS Web Server Authentication',
        'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
        'X509v3 Subject Key Identifier',
        'NIST CURVE: P-256',
      ]) {
        expect(result.stdout).to.include(expected);
      }
    });

    it('passes `openssl asn1parse -strictpem` without errors', function () {
      const result = spawnSync('openssl', ['asn1parse', '-strictpem'], { input: made.certPem, encoding: 'utf8', timeout: 10_000 });
      if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') this.skip(); // openssl is not on the PATH
      expect(result.status, result.stderr).to.equal(0);
      expect(result.stdout).to.include('prim: OBJECT            :ecdsa-with-SHA256');
    });
  });
});

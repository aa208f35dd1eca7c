'use strict';
// The libsignal baseline for tests/TelehealthMessaging.Benchmarks: the same operations with the same message sizes,
// through @signalapp/libsignal-client's public API with in-memory stores. Prints one JSON object on stdout.
//
//   node bench.js [--repeats N] [--scale F]
//
// Each operation is warmed up, then timed over a fixed number of iterations, REPEATS times; the report carries every
// sample and their median. --scale multiplies the iteration counts (run.sh uses it to keep the run short).

const crypto = require('node:crypto');
const os = require('node:os');
const signal = require('@signalapp/libsignal-client');

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const REPEATS = option('--repeats', 5);
const SCALE = option('--scale', 1);

// Stores hold the native objects in maps, as an app's in-memory cache would; nothing is serialized, matching the .NET
// side, which keeps its sessions in memory too.
class SessionStore extends signal.SessionStore {
  constructor() { super(); this.sessions = new Map(); }
  async saveSession(address, record) { this.sessions.set(address.toString(), record); }
  async getSession(address) { return this.sessions.get(address.toString()) ?? null; }
  async getExistingSessions(addresses) { return addresses.map((a) => this.sessions.get(a.toString())); }
}

class IdentityStore extends signal.IdentityKeyStore {
  constructor(identity, registrationId) { super(); this.identity = identity; this.registrationId = registrationId; this.known = new Map(); }
  async getIdentityKey() { return this.identity.privateKey; }
  async getLocalRegistrationId() { return this.registrationId; }
  async saveIdentity(address, key) {
    const previous = this.known.get(address.toString());
    this.known.set(address.toString(), key);
    return previous && !previous.equals(key) ? signal.IdentityChange.ReplacedExisting : signal.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity() { return true; }
  async getIdentity(address) { return this.known.get(address.toString()) ?? null; }
}

// Prekeys are never deleted: the benchmark hands out bundles without a one-time EC prekey and treats the Kyber prekey
// as last-resort, exactly like the .NET side, so that session setup can be repeated against the same keys.
class PreKeyStore extends signal.PreKeyStore {
  constructor() { super(); this.keys = new Map(); }
  async savePreKey(id, record) { this.keys.set(id, record); }
  async getPreKey(id) { return this.keys.get(id); }
  async removePreKey() {}
}

class SignedPreKeyStore extends signal.SignedPreKeyStore {
  constructor() { super(); this.keys = new Map(); }
  async saveSignedPreKey(id, record) { this.keys.set(id, record); }
  async getSignedPreKey(id) { return this.keys.get(id); }
}

class KyberPreKeyStore extends signal.KyberPreKeyStore {
  constructor() { super(); this.keys = new Map(); }
  async saveKyberPreKey(id, record) { this.keys.set(id, record); }
  async getKyberPreKey(id) { return this.keys.get(id); }
  async markKyberPreKeyUsed() {}
}

const ALICE_UUID = '9d0652a3-dcc3-4d11-975f-74d61598733f';
const BOB_UUID = '796abedb-ca4e-4f18-8803-1fde5b921f9f';
const DEVICE_ID = 1;

function device(uuid, registrationId) {
  const identity = signal.IdentityKeyPair.generate();
  return {
    address: signal.ProtocolAddress.new(uuid, DEVICE_ID),
    identity,
    identityStore: new IdentityStore(identity, registrationId),
    sessionStore: new SessionStore(),
    preKeyStore: new PreKeyStore(),
    signedPreKeyStore: new SignedPreKeyStore(),
    kyberPreKeyStore: new KyberPreKeyStore(),
  };
}

async function publishPrekeys(d) {
  const signedKey = signal.PrivateKey.generate();
  const signedSignature = d.identity.privateKey.sign(signedKey.getPublicKey().serialize());
  await d.signedPreKeyStore.saveSignedPreKey(1, signal.SignedPreKeyRecord.new(1, Date.now(), signedKey.getPublicKey(), signedKey, signedSignature));
  const kem = signal.KEMKeyPair.generate();
  const kemSignature = d.identity.privateKey.sign(kem.getPublicKey().serialize());
  await d.kyberPreKeyStore.saveKyberPreKey(2, signal.KyberPreKeyRecord.new(2, Date.now(), kem, kemSignature));
  // The public parts the relay hands out; bundle() builds a PreKeyBundle from them, as parsing a fetched bundle would.
  return {
    signedPublic: signedKey.getPublicKey(), signedSignature, kemPublic: kem.getPublicKey(), kemSignature,
    bundle: () => signal.PreKeyBundle.new(
      d.registrationId ?? 1, DEVICE_ID, null, null, 1, signedKey.getPublicKey(), signedSignature,
      d.identity.publicKey, 2, kem.getPublicKey(), kemSignature),
  };
}

async function encrypt(from, to, plaintext) {
  return signal.signalEncrypt(plaintext, to.address, from.address, from.sessionStore, from.identityStore);
}

async function decrypt(to, from, ciphertext) {
  if (ciphertext.type() === signal.CiphertextMessageType.PreKey) {
    return signal.signalDecryptPreKey(
      signal.PreKeySignalMessage.deserialize(ciphertext.serialize()), from.address, to.address,
      to.sessionStore, to.identityStore, to.preKeyStore, to.signedPreKeyStore, to.kyberPreKeyStore);
  }
  return signal.signalDecrypt(signal.SignalMessage.deserialize(ciphertext.serialize()), from.address, to.address, to.sessionStore, to.identityStore);
}

// Decrypting from the serialized bytes is what a receiver does; the check keeps a broken roundtrip from being timed.
function expectEqual(actual, expected) {
  if (!Buffer.from(actual).equals(Buffer.from(expected))) {
    throw new Error('roundtrip returned different plaintext');
  }
}

async function setUp(alice, bob, bobBundle, plaintext) {
  alice.sessionStore = new SessionStore();
  bob.sessionStore = new SessionStore();
  await signal.processPreKeyBundle(bobBundle(), bob.address, alice.address, alice.sessionStore, alice.identityStore);
  const first = await encrypt(alice, bob, plaintext);
  return decrypt(bob, alice, first);
}

async function establish(alice, bob, bobBundle, plaintext) {
  expectEqual(await setUp(alice, bob, bobBundle, plaintext), plaintext);
  expectEqual(await decrypt(alice, bob, await encrypt(bob, alice, plaintext)), plaintext);
}

async function sealedSenderFixture(alice) {
  const trustRoot = signal.PrivateKey.generate();
  const serverKey = signal.PrivateKey.generate();
  const serverCertificate = signal.ServerCertificate.new(1, serverKey.getPublicKey(), trustRoot);
  const expires = Date.now() + 24 * 3600 * 1000;
  const senderCertificate = signal.SenderCertificate.new(ALICE_UUID, null, DEVICE_ID, alice.identity.publicKey, expires, serverCertificate, serverKey);
  return { trustRoot: trustRoot.getPublicKey(), senderCertificate };
}

async function measure(name, iterations, messagesPerIteration, step) {
  const n = Math.max(1, Math.round(iterations * SCALE));
  for (let i = 0; i < Math.max(1, Math.round(n / 4)); i++) await step();
  const samples = [];
  for (let r = 0; r < REPEATS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await step();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    samples.push((n * messagesPerIteration) / seconds);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return [name, { opsPerSecond: median, samples, iterations: n, messagesPerIteration }];
}

async function main() {
  const small = new Uint8Array(crypto.randomBytes(256));
  const large = new Uint8Array(crypto.randomBytes(64 * 1024));
  const alice = device(ALICE_UUID, 1);
  const bob = device(BOB_UUID, 2);
  const bobPrekeys = await publishPrekeys(bob);
  await establish(alice, bob, bobPrekeys.bundle, small);

  const steady = await encrypt(alice, bob, small);
  expectEqual(await decrypt(bob, alice, steady), small);
  const overhead = steady.serialize().length - small.length;

  const sealed = await sealedSenderFixture(alice);
  const sealedRoundtrip = async () => {
    const envelope = await signal.sealedSenderEncryptMessage(small, bob.address, sealed.senderCertificate, alice.sessionStore, alice.identityStore);
    const result = await signal.sealedSenderDecryptMessage(
      envelope, sealed.trustRoot, Date.now(), null, BOB_UUID, DEVICE_ID,
      bob.sessionStore, bob.identityStore, bob.preKeyStore, bob.signedPreKeyStore, bob.kyberPreKeyStore);
    return result.message();
  };
  expectEqual(await sealedRoundtrip(), small);
  const sealedEnvelope = await signal.sealedSenderEncryptMessage(small, bob.address, sealed.senderCertificate, alice.sessionStore, alice.identityStore);
  await signal.sealedSenderDecryptMessage(
    sealedEnvelope, sealed.trustRoot, Date.now(), null, BOB_UUID, DEVICE_ID,
    bob.sessionStore, bob.identityStore, bob.preKeyStore, bob.signedPreKeyStore, bob.kyberPreKeyStore);
  const sealedOverhead = sealedEnvelope.length - small.length;

  const results = [];
  results.push(await measure('UnsealedOneDirection256', 2000, 1, async () => decrypt(bob, alice, await encrypt(alice, bob, small))));
  results.push(await measure('Alternating256', 1000, 2, async () => {
    await decrypt(bob, alice, await encrypt(alice, bob, small));
    await decrypt(alice, bob, await encrypt(bob, alice, small));
  }));
  results.push(await measure('SealedOneDirection256', 1000, 1, sealedRoundtrip));
  results.push(await measure('UnsealedOneDirection64K', 300, 1, async () => decrypt(bob, alice, await encrypt(alice, bob, large))));
  // Last: it replaces both session stores.
  results.push(await measure('SessionSetup256', 200, 1, () => setUp(alice, bob, bobPrekeys.bundle, small)));

  const version = require('@signalapp/libsignal-client/package.json').version;
  process.stdout.write(JSON.stringify({
    libsignalClient: version,
    node: process.version,
    loadAverage: os.loadavg(),
    repeats: REPEATS,
    overheadBytes: { unsealed256: overhead, sealed256: sealedOverhead },
    results: Object.fromEntries(results),
  }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`libsignal baseline failed: ${error.stack ?? error}\n`);
  process.exit(1);
});

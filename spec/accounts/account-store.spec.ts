/**
 * The accounts' rows (lib/accounts/account-store.ts) on an in-memory
 * database with the project's migrations: case-insensitive uniqueness, the
 * compare-and-set updates, revocations and their purge.
 */
import { expect } from 'chai';
import { openDatabase } from '../../lib/store/database.js';
import { AccountStore, publicUser, type User } from '../../lib/accounts/account-store.js';
import type Database from 'better-sqlite3';

const CREATED = new Date('2026-11-21T23:59:00.123Z');

describe('accounts/account-store', () => {
  let db: Database.Database;
  let store: AccountStore;
  beforeEach(() => {
    db = openDatabase(':memory:').db;
    store = new AccountStore(db);
  });
  afterEach(() => db.close());

  function add(username: string, hash = 'h1'): User {
    const r = store.insertUser({ username, usernameKey: username.toLowerCase(), displayName: username, passwordHash: hash, createdAt: CREATED });
    if (!r.ok) throw new Error('insert failed');
    return r.user;
  }

  it('inserts a user kept as typed, found by the lower-case key, with created_at as toISOString wrote it', () => {
    const user = add('Alice');
    expect(user).to.deep.equal({ id: user.id, username: 'Alice', display_name: 'Alice', created_at: '2026-11-21T23:59:00.123Z', token_version: 0, disabled: false });
    expect(store.findByKey('alice')).to.deep.equal({ user, passwordHash: 'h1' });
    expect(store.findByKey('Alice')).to.equal(null);
    expect(publicUser(user)).to.deep.equal({ id: user.id, username: 'Alice', display_name: 'Alice', created_at: '2026-11-21T23:59:00.123Z' });
  });

  it('reports a username taken in another case instead of throwing (API.md: unique without regard to case)', () => {
    add('Alice');
    expect(store.insertUser({ username: 'ALICE', usernameKey: 'alice', displayName: 'x', passwordHash: 'h', createdAt: CREATED })).to.deep.equal({
      ok: false,
      reason: 'username_taken',
    });
  });

  it('changes the password and raises the token version in one step, only from the expected version', () => {
    const user = add('bob');
    const changed = store.changePassword(user.id, 'h2', 0);
    expect(changed?.token_version).to.equal(1);
    expect(store.findCredentialsById(user.id)?.passwordHash).to.equal('h2');
    // A second change made with the same (now stale) version loses.
    expect(store.changePassword(user.id, 'h3', 0)).to.equal(null);
    expect(store.findCredentialsById(user.id)?.passwordHash).to.equal('h2');
  });

  it('replaces a hash by a rehash only if it is still the one verified', () => {
    const user = add('carol', 'old');
    expect(store.rehash(user.id, 'other', 'new')).to.equal(false);
    expect(store.rehash(user.id, 'old', 'new')).to.equal(true);
    expect(store.findCredentialsById(user.id)?.passwordHash).to.equal('new');
  });

  it('remembers revoked jtis, tolerates revoking twice, and purges only those expired before the cutoff', () => {
    const user = add('dave');
    store.revokeToken('j1', user.id, 1000);
    store.revokeToken('j1', user.id, 1000);
    store.revokeToken('j2', user.id, 5000);
    expect(store.isRevoked('j1')).to.equal(true);
    expect(store.isRevoked('j3')).to.equal(false);
    expect(store.purgeRevoked(2000)).to.equal(1);
    expect(store.isRevoked('j1')).to.equal(false);
    expect(store.isRevoked('j2')).to.equal(true);
  });

  it('disables and enables a user', () => {
    const user = add('erin');
    expect(store.setDisabled(user.id, true)).to.equal(true);
    expect(store.findById(user.id)?.disabled).to.equal(true);
    store.setDisabled(user.id, false);
    expect(store.findById(user.id)?.disabled).to.equal(false);
    expect(store.setDisabled(9999, true)).to.equal(false);
  });
});

import { expect } from '@open-wc/testing';
import { uniqueDbName } from '../../test/fake-link.ts';
import { openHavatarDb, SETTINGS_KEY } from './db.ts';
import { SettingsStore } from './settings-store.ts';
import { DEFAULT_SETTINGS, migrateSettings, validateSettings } from './settings.ts';
import { readTokenFromUrl } from './token-from-url.ts';

describe('settings validation', () => {
  it('accepts the defaults', () => {
    expect(validateSettings({ ...DEFAULT_SETTINGS }).ok).to.equal(true);
  });

  it('names each wrong field with a message a person can act on', () => {
    const r = validateSettings({ robotUrl: 'ftp://robot', speedLimit: 400, joystickSensitivity: 'a lot', operatorName: '  ', token: 'has space' });
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.errors.robotUrl).to.match(/http:\/\/ or https:\/\//);
    expect(r.errors.speedLimit).to.match(/between 10 and 100/);
    expect(r.errors.joystickSensitivity).to.match(/must be a number/);
    expect(r.errors.operatorName).to.match(/name/i);
    expect(r.errors.token).to.match(/Paste it again/);
  });

  it('normalises a robot address (no trailing slash) and reads numbers typed as text', () => {
    const r = validateSettings({ ...DEFAULT_SETTINGS, robotUrl: 'https://192.168.1.20:5443/', speedLimit: '45' });
    expect(r.ok && r.value.robotUrl).to.equal('https://192.168.1.20:5443');
    expect(r.ok && r.value.speedLimit).to.equal(45);
  });

  it('refuses credentials or a query in the robot address', () => {
    const r = validateSettings({ ...DEFAULT_SETTINGS, robotUrl: 'https://u:p@robot:5443' });
    expect(!r.ok && r.errors.robotUrl).to.match(/token field/);
  });

  it('migrates an older or damaged stored record field by field, keeping what is valid', () => {
    const s = migrateSettings({ robot: 'http://10.0.0.2:5000', speedLimit: 9999, token: 'abc' });
    expect(s.robotUrl).to.equal('http://10.0.0.2:5000');
    expect(s.token).to.equal('abc');
    expect(s.speedLimit).to.equal(DEFAULT_SETTINGS.speedLimit);
    expect(migrateSettings(null)).to.deep.equal(DEFAULT_SETTINGS);
  });
});

describe('settings persistence', () => {
  it('keeps saved settings across a fresh load of the store (a reload)', async () => {
    const name = uniqueDbName();
    const first = new SettingsStore(openHavatarDb(name));
    await first.load();
    const r = await first.save({ robotUrl: 'https://robot.local:5443', speedLimit: 35, audioEnabled: false });
    expect(r.ok).to.equal(true);
    (await openHavatarDb(name)).close();
    const second = new SettingsStore(openHavatarDb(name));
    const loaded = await second.load();
    expect(loaded).to.include({ robotUrl: 'https://robot.local:5443', speedLimit: 35, audioEnabled: false });
  });

  it('saves nothing when any field is invalid', async () => {
    const name = uniqueDbName();
    const store = new SettingsStore(openHavatarDb(name));
    await store.load();
    const r = await store.save({ speedLimit: 5, operatorName: 'Ana' });
    expect(r.ok).to.equal(false);
    expect(await (await openHavatarDb(name)).get('settings', SETTINGS_KEY)).to.equal(undefined);
    expect(store.value.operatorName).to.equal(DEFAULT_SETTINGS.operatorName);
  });

  it('stores the schema version with the record', async () => {
    const name = uniqueDbName();
    const store = new SettingsStore(openHavatarDb(name));
    await store.load();
    await store.save({ operatorName: 'Ana' });
    const raw = await (await openHavatarDb(name)).get('settings', SETTINGS_KEY);
    expect(raw?.schema).to.equal(1);
  });
});

describe('token from the address bar', () => {
  it('reads #token= and gives back the URL without it', () => {
    expect(readTokenFromUrl('https://r:5443/settings?x=1#token=abc123')).to.deep.equal({ token: 'abc123', cleanUrl: '/settings?x=1' });
    expect(readTokenFromUrl('https://r:5443/#token=abc&mode=local')!.cleanUrl).to.equal('/#mode=local');
    expect(readTokenFromUrl('https://r:5443/')).to.equal(null);
  });
});

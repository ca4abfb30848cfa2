import { describe, expect, it } from 'vitest';
import { redactText, stripUriSecrets } from '../security/uri-secrets.js';
import { deviceAddress } from '../service/camera-status-service.js';
import { outputSize } from './live-source.js';

describe('live-view and camera helpers', () => {
  it('strips user info and secret query values from URIs, and refuses what is not a URI', () => {
    expect(stripUriSecrets('rtsp://admin:p%40ss@10.0.0.9:554/s1?user=admin&password=x&res=hd')).toBe('rtsp://10.0.0.9:554/s1?user=***&password=***&res=hd');
    expect(stripUriSecrets('http://[fd00::7]:8899/onvif')).toBe('http://[fd00::7]:8899/onvif');
    expect(stripUriSecrets('not a uri')).toBeUndefined();
    expect(stripUriSecrets(`rtsp://h/${'x'.repeat(2000)}`)).toBeUndefined();
  });

  it('masks URIs with credentials and the secrets themselves (raw and percent-encoded) in ffmpeg messages', () => {
    const msg = "rtsp://probe:p@ss/1@10.0.0.9:554/s1: 401 Unauthorized; retrying with p%40ss%2F1 and p@ss/1";
    const out = redactText(msg, ['p@ss/1']);
    expect(out).not.toMatch(/p@ss|p%40ss/);
    expect(out).toContain('401 Unauthorized');
  });

  it('relays even sizes no wider than 1280, keeping the aspect ratio, or 640x360 when unknown', () => {
    expect(outputSize(320, 184)).toEqual({ width: 320, height: 184 });
    expect(outputSize(321, 185)).toEqual({ width: 322, height: 186 });
    expect(outputSize(3840, 2160)).toEqual({ width: 1280, height: 720 });
    expect(outputSize(undefined, 480)).toEqual({ width: 640, height: 360 });
  });

  it('takes a discovered device address from its first HTTP XAddr, else from where it answered', () => {
    expect(deviceAddress({ xaddrs: ['urn:x', 'http://10.1.2.3/onvif/device_service'], from: '10.9.9.9' })).toEqual({ host: '10.1.2.3', port: 80 });
    expect(deviceAddress({ xaddrs: ['https://cam.local:8443/onvif'], from: 'x' })).toEqual({ host: 'cam.local', port: 8443 });
    expect(deviceAddress({ xaddrs: [], from: '10.9.9.9:3702' })).toEqual({ host: '10.9.9.9', port: 80 });
    expect(deviceAddress({ xaddrs: [], from: 'fe80::1' })).toEqual({ host: 'fe80::1', port: 80 });
    expect(deviceAddress({ xaddrs: [], from: '[fe80::1]:3702' })).toEqual({ host: 'fe80::1', port: 80 });
  });
});

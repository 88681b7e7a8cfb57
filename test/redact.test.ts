import { describe, expect, it } from 'vitest';
import { redact, urlPassword } from '../src/core/redact.js';

describe('redaction of URLs', () => {
  it.each([
    ['postgres://postgres:DbPw/Secret_42@127.0.0.1:5432/labops', 'postgres://postgres:***@127.0.0.1:5432/labops', 'DbPw/Secret_42'],
    ['redis://:pa/ss@host:6379', 'redis://:***@host:6379', 'pa/ss'],
    ['rediss://default:s3cr%2Ft@redis.lab:6380/0', 'rediss://default:***@redis.lab:6380/0', 's3cr/t'],
  ])('%s', (url, shown, password) => {
    expect(redact(`connecting to ${url} failed`)).toBe(`connecting to ${shown} failed`);
    expect(urlPassword(url)).toBe(password);
  });

  it('masks a URL inside JSON without eating the next value', () => {
    expect(redact('{"url":"postgres://a:b/c@h/d","mail":"e@f"}')).toBe('{"url":"postgres://a:***@h/d","mail":"e@f"}');
  });

  it('leaves URLs without a password alone', () => {
    expect(redact('http://user@host/x and https://example.org/a@b')).toBe('http://user@host/x and https://example.org/a@b');
    expect(urlPassword('http://user@host/x')).toBeNull();
  });
});

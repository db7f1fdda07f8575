import supertest from 'supertest';
import type { TestService } from './service.js';

/** A registered diary user: their token and a caller that sends it. */
export interface DiaryUser {
  username: string;
  token: string;
  auth: Record<string, string>;
  call(path: string, body?: object): supertest.Test;
}

let sequence = 0;

/** Registers a user through `user/create` and returns a caller with their token. */
export async function registerUser(
  t: TestService,
  username = `user${++sequence}_${process.pid}`,
  password = 'correct horse battery',
): Promise<DiaryUser> {
  const res = await supertest(t.app).post('/user/create').send({ username, password });
  if (res.status !== 200) throw new Error(`user/create answered ${res.status}: ${JSON.stringify(res.body)}`);
  return asUser(t, username, res.body.access_token as string);
}

/** A caller for `token`. */
export function asUser(t: TestService, username: string, token: string): DiaryUser {
  const auth = { Authorization: `Bearer ${token}` };
  const agent = supertest(t.app);
  return { username, token, auth, call: (path, body = {}) => agent.post(path).set(auth).send(body) };
}

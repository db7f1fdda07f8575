import { invalidParams, type FieldError } from '../../core/errors.js';
import type { Params, ParamsDeclaration } from '../../core/params.js';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9]{7,15}$/;

/** The profile fields of seed 002 (`fio`, `phone_number`, `email`, `avatar`), all optional. */
export const PROFILE_FIELDS = {
  fio: { type: 'O string(1,200)', note: 'Фамилия Имя Отчество' },
  phone_number: { type: 'O string(7,16)', note: '+ and 7-15 digits', stated: { pattern: PHONE.source } },
  email: { type: 'O string(3,254)', note: 'e-mail address', stated: { pattern: EMAIL.source } },
  avatar: { type: 'O string(1,2048)', note: 'profile photo: an http(s) URL', stated: { pattern: '^https?://\\S+$' } },
} as const satisfies ParamsDeclaration;

/** Whether `text` is an absolute http(s) URL. */
export function isWebUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !/\s/.test(text);
  } catch {
    return false;
  }
}

/** 400 naming every profile field whose value is not what it says. */
export function checkProfile(params: Params): void {
  const errors: FieldError[] = [];
  const bad = (field: string, message: string) => errors.push({ field, messages: [message] });
  if (typeof params.email === 'string' && !EMAIL.test(params.email)) bad('email', 'must be an e-mail address such as name@example.com');
  if (typeof params.phone_number === 'string' && !PHONE.test(params.phone_number)) bad('phone_number', 'must be + and 7-15 digits');
  if (typeof params.avatar === 'string' && !isWebUrl(params.avatar)) bad('avatar', 'must be an http(s) URL');
  if (errors.length > 0) throw invalidParams(errors);
}

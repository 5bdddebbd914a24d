import { randomBytes } from 'node:crypto';

/** 32 lower-case hex characters: the id form Huawei's APIG uses for every object. */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

export function nowIso(): string {
  return new Date().toISOString();
}

export const HEX32 = /^[0-9a-f]{32}$/;

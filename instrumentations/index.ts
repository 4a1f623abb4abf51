/** Every instrumentation timetracer ships. Adding a library means adding its file here. */
import type { Instrumentation } from '../src/instrumentation.js';
import express from './express.js';
import fastify from './fastify.js';
import fetch from './fetch.js';
import http from './http.js';
import ioredis from './ioredis.js';
import koa from './koa.js';
import mongodb from './mongodb.js';
import passwordHashes from './password-hashes.js';
import pg from './pg.js';
import prisma from './prisma.js';
import undici from './undici.js';

export const instrumentations: readonly Instrumentation[] = [http, fetch, undici, pg, ioredis, mongodb, prisma, express, fastify, koa, passwordHashes];

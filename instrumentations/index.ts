/** Every instrumentation timetracer ships, one folder each. Adding a library means adding its folder here. */
import type { Instrumentation } from '../src/plugin.js';
import express from './express/index.js';
import fastify from './fastify/index.js';
import graphql from './graphql/index.js';
import hono from './hono/index.js';
import { httpTransports } from './http/index.js';
import ioredis from './ioredis/index.js';
import koa from './koa/index.js';
import mongodb from './mongodb/index.js';
import nestjs from './nestjs/index.js';
import passwordHashes from './password-hashes/index.js';
import pg from './pg/index.js';
import prisma from './prisma/index.js';

export const instrumentations: readonly Instrumentation[] = [
  ...httpTransports,
  pg,
  ioredis,
  mongodb,
  prisma,
  express,
  fastify,
  koa,
  hono,
  nestjs,
  graphql,
  passwordHashes,
];

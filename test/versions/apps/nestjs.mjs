// NestJS on its Express adapter, in plain JavaScript (the decorators TypeScript would apply are
// called directly): a route calling the upstream, and one whose handler throws.
import 'reflect-metadata';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { fetchJson, listening } from './probe.cjs';

class UsersController {
  user(name) {
    return fetchJson(`/users/${name}`);
  }
  crash() {
    throw new Error('nestjs handler failed');
  }
}
const method = (name) => [UsersController.prototype, name, Object.getOwnPropertyDescriptor(UsersController.prototype, name)];
Param('name')(UsersController.prototype, 'user', 0);
Get('user/:name')(...method('user'));
Get('crash')(...method('crash'));
Controller()(UsersController);

class AppModule {}
Module({ controllers: [UsersController] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
listening(app.getHttpServer());

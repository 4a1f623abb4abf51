// A NestJS application in plain JavaScript: the decorators TypeScript would apply are called
// directly. Users under a prefix-less and a `v1` controller, items, and a handler that throws.
import 'reflect-metadata';
import { Body, Controller, Get, Module, Param, Post } from '@nestjs/common';
import { viaFetch } from '../framework-upstream.cjs';

/** Applies a method decorator and the decorators of its parameters, as `@Get() m(@Param() a)` does. */
function route(controller, method, methodDecorator, ...parameterDecorators) {
  for (const [index, decorate] of parameterDecorators.entries()) decorate(controller.prototype, method, index);
  methodDecorator(controller.prototype, method, Object.getOwnPropertyDescriptor(controller.prototype, method));
}

function usersController(prefix) {
  class UsersController {
    user(name) {
      return viaFetch('GET', `/users/${name}`);
    }
  }
  route(UsersController, 'user', Get('user/:name'), Param('name'));
  Controller(prefix)(UsersController);
  return UsersController;
}

class ItemsController {
  add(item) {
    return viaFetch('POST', '/items', item);
  }
  crash() {
    throw new Error('nestjs handler threw');
  }
}
route(ItemsController, 'add', Post('items'), Body());
route(ItemsController, 'crash', Get('crash'));
Controller()(ItemsController);

export class AppModule {}
Module({ controllers: [usersController(''), usersController('v1'), ItemsController] })(AppModule);

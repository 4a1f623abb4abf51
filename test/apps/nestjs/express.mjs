// NestJS on its Express adapter (Express 5), as users start it.
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app-module.mjs';

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
console.log(`listening ${app.getHttpServer().address().port}`);

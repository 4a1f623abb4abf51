// An app calling an HTTP API (API_URL) through the HTTP clients people use: axios (its http and
// fetch adapters), got, node-fetch 2 and 3, ky, superagent, and the AWS SDK's S3 client pointed
// at the same local server. Each route answers with what its client gave it.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import axios from 'axios';
import got from 'got';
import ky from 'ky';
import nodeFetch3 from 'node-fetch';
import nodeFetch2 from 'node-fetch2';
import superagent from 'superagent';
import { serveJsonRoutes } from './json-routes.mjs';

const API = process.env.API_URL;
const s3 = new S3Client({
  endpoint: API,
  forcePathStyle: true,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-key-example' },
});

const routes = {
  '/axios-http': async () => {
    const got1 = await axios.get(`${API}/json?b=2&a=1`);
    const posted = await axios.post(`${API}/echo`, { from: 'axios' });
    return { status: got1.status, data: got1.data, echoed: posted.data };
  },
  '/axios-fetch': async () => (await axios.get(`${API}/json`, { adapter: 'fetch' })).data,
  '/got': async () => ({ json: await got(`${API}/json`).json(), echoed: await got.post(`${API}/echo`, { json: { from: 'got' } }).json() }),
  '/node-fetch2': async () => (await nodeFetch2(`${API}/json`)).json(),
  '/node-fetch3': async () => (await nodeFetch3(`${API}/echo`, { method: 'POST', body: 'from node-fetch 3' })).json(),
  '/ky': async () => ky.get(`${API}/json`).json(),
  '/superagent': async () => (await superagent.post(`${API}/echo`).send({ from: 'superagent' })).body,
  '/s3': async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'notes.txt', Body: 'hello s3' }));
    const object = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'notes.txt' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'bucket' }));
    return { etag: put.ETag, body: await object.Body.transformToString(), keys: listed.Contents.map((c) => c.Key) };
  },
};

serveJsonRoutes(routes);

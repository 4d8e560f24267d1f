#!/usr/bin/env node
// The S3-compatible object store of the tests: s3rver (installed by `make objectstore` into
// this folder from package-lock.json), listening on 127.0.0.1 with the credentials and the
// bucket given in the environment, keeping its objects under OBJECTSTORE_DIR.
//
//   OBJECTSTORE_PORT=0 OBJECTSTORE_DIR=/tmp/store OBJECTSTORE_BUCKET=zkarena \
//   OBJECTSTORE_ACCESS_KEY=… OBJECTSTORE_SECRET_KEY=… node tools/objectstore/server.js
//
// Prints one line, `listening on http://127.0.0.1:PORT`, once it serves.
//
// s3rver checks the signature of a signed request (fully for signature V2, only the access
// key for V4) but serves anonymous requests whatever the ACLs say. S3 and MinIO refuse
// them unless the bucket has a public policy or the object a public canned ACL. So that
// the tests see what a real store does, this server applies that rule in front of s3rver:
// an unsigned request is refused (403 AccessDenied) unless it reads an object that was
// uploaded with `x-amz-acl: public-read` (or public-read-write). Listing a bucket
// anonymously is always refused (no bucket here is public).
'use strict';

const path = require('path');
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`objectstore: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const directory = path.resolve(need('OBJECTSTORE_DIR'));
const bucket = need('OBJECTSTORE_BUCKET');
const accessKey = need('OBJECTSTORE_ACCESS_KEY');
const secretKey = need('OBJECTSTORE_SECRET_KEY');
const port = Number(process.env.OBJECTSTORE_PORT || 0);

// Only our key pair: s3rver's built-in S3RVER/S3RVER account is revoked.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
new AWSAccount(100000000001, 'zkarena').createKeyPair(accessKey, secretKey);

const PUBLIC_ACLS = new Set(['public-read', 'public-read-write']);
// "bucket/key" of objects uploaded with a public canned ACL.
const publicObjects = new Set();

function signed(ctx) {
  return (
    'authorization' in ctx.headers ||
    'Signature' in ctx.query ||
    'X-Amz-Algorithm' in ctx.query
  );
}

function objectPath(ctx) {
  // Path-style addressing: /bucket/key…
  const parts = decodeURIComponent(ctx.path).replace(/^\/+/, '').split('/');
  const [name, ...key] = parts;
  return key.length && key.join('/') ? `${name}/${key.join('/')}` : null;
}

async function privateByDefault(ctx, next) {
  const object = objectPath(ctx);
  if (!signed(ctx)) {
    const readsPublic =
      ['GET', 'HEAD'].includes(ctx.method) &&
      object !== null &&
      Object.keys(ctx.query).length === 0 &&
      publicObjects.has(object);
    if (!readsPublic) {
      ctx.status = 403;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>' +
        '<Message>Access Denied</Message></Error>';
      return;
    }
  }
  await next();
  if (object !== null && ctx.method === 'PUT' && ctx.status < 300) {
    const acl = String(ctx.headers['x-amz-acl'] || '').toLowerCase();
    if (PUBLIC_ACLS.has(acl)) publicObjects.add(object);
    else publicObjects.delete(object);
  }
  if (object !== null && ctx.method === 'DELETE') publicObjects.delete(object);
}

const server = new S3rver({
  address: '127.0.0.1',
  port,
  directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket, configs: [] }],
});
server.middleware.unshift(privateByDefault);

server.run().then(
  ({ address, port: bound }) => {
    console.log(`listening on http://${address}:${bound}`);
  },
  err => {
    console.error(`objectstore: ${err.stack || err}`);
    process.exit(1);
  },
);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close().finally(() => process.exit(0)));
}

/**
 * Cassettes in S3: `s3://bucket/prefix` names a cassette directory there, laid out as on disk
 * (day folders, files or segments). The AWS SDK is an optional dependency, loaded only when such
 * a location is used; credentials, region and endpoint come the AWS way (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3), path-style when an endpoint is given
 * (the S3-compatible servers: Ceph, MinIO).
 */
import type * as S3Sdk from '@aws-sdk/client-s3';

export interface S3Location {
  bucket: string;
  /** The key prefix, without a leading or trailing `/`: empty for the bucket's root. */
  prefix: string;
}

/** An object under a location: its key relative to the prefix (`2026-12-05/GET__x__id.json`), and its size. */
export interface RemoteObject {
  path: string;
  size: number;
}

export class S3Unavailable extends Error {
  readonly code = 'TIMETRACER_S3_UNAVAILABLE';
}

export function isS3Location(text: string): boolean {
  return text.startsWith('s3://');
}

/** `s3://bucket/some/prefix` -> { bucket, prefix }; undefined for anything else. */
export function parseS3Location(text: string): S3Location | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(text.trim());
  if (!match) return undefined;
  return { bucket: match[1]!, prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

export function formatS3Location({ bucket, prefix }: S3Location): string {
  return `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
}

let sdk: Promise<typeof S3Sdk> | undefined;

/** The SDK, imported on first use; a clear error when it is not installed. */
function loadSdk(): Promise<typeof S3Sdk> {
  sdk ??= import('@aws-sdk/client-s3').catch(() => {
    sdk = undefined;
    throw new S3Unavailable('an s3:// location needs the AWS SDK: npm install @aws-sdk/client-s3');
  });
  return sdk;
}

/** The objects of one location, read and written by their path under the prefix. */
export class S3Store {
  private constructor(
    readonly location: S3Location,
    private readonly api: typeof S3Sdk,
    private readonly client: S3Sdk.S3Client,
  ) {}

  static async open(location: S3Location, env: NodeJS.ProcessEnv = process.env): Promise<S3Store> {
    const api = await loadSdk();
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
    const client = new api.S3Client({
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
      ...(endpoint && { endpoint, forcePathStyle: true }),
      // Checksums only where S3 requires them: S3-compatible servers refuse the newer trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Retries are the caller's (the uploader backs off on its own), so an outage is seen at once.
      maxAttempts: 2,
    });
    return new S3Store(location, api, client);
  }

  toString(): string {
    return formatS3Location(this.location);
  }

  private key(path: string): string {
    return this.location.prefix ? `${this.location.prefix}/${path}` : path;
  }

  /** Every object under the location, by its path under the prefix. */
  async list(): Promise<RemoteObject[]> {
    const objects: RemoteObject[] = [];
    const start = this.location.prefix ? `${this.location.prefix}/` : '';
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new this.api.ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: start, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key?.startsWith(start)) objects.push({ path: item.Key.slice(start.length), size: item.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  /** Throws unless S3 answers for the location: one small request, to try before much work. */
  async probe(): Promise<void> {
    const prefix = this.location.prefix ? `${this.location.prefix}/` : '';
    await this.client.send(new this.api.ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: prefix, MaxKeys: 1 }));
  }

  async get(path: string): Promise<Buffer> {
    const answer = await this.client.send(new this.api.GetObjectCommand({ Bucket: this.location.bucket, Key: this.key(path) }));
    return Buffer.from(await answer.Body!.transformToByteArray());
  }

  async put(path: string, bytes: Buffer): Promise<void> {
    await this.client.send(new this.api.PutObjectCommand({ Bucket: this.location.bucket, Key: this.key(path), Body: bytes }));
  }

  async delete(paths: readonly string[]): Promise<void> {
    for (let at = 0; at < paths.length; at += 1000) {
      const Objects = paths.slice(at, at + 1000).map((path) => ({ Key: this.key(path) }));
      await this.client.send(new this.api.DeleteObjectsCommand({ Bucket: this.location.bucket, Delete: { Objects, Quiet: true } }));
    }
  }

  close(): void {
    this.client.destroy();
  }
}

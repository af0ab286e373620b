"""Where media files live: a folder on local disk, or any S3-compatible object store.

Files are content-addressed: the key of a file is ``ab/cd/<sha256>.<ext>`` in both stores, so a
folder copied into a bucket (or back) is the same store, and two uploads of the same bytes share one
object. Writes are atomic (local: a temporary file renamed into place; S3: one PUT).

Chosen by settings (``TOWNSQUARE_MEDIA_BACKEND``):

| backend | settings |
|---|---|
| ``local`` (default) | ``<data_dir>/media`` (a volume; shared between machines only through a network file system) |
| ``s3`` | ``TOWNSQUARE_MEDIA_S3_BUCKET``, ``_S3_PREFIX``, ``_S3_ENDPOINT_URL`` (MinIO, Ceph, R2, ...; empty for AWS), ``_S3_REGION``, and the usual ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (or ``_S3_ACCESS_KEY`` / ``_S3_SECRET_KEY``) |

Errors say what happened without a stack trace: a full disk is ``StorageFull`` (HTTP 507; nothing
is saved, the upload can be retried once space is freed), a store that cannot be reached is
``Unavailable`` (503).
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from townsquare.errors import NotFound, TownsquareError, Unavailable


class StorageFull(TownsquareError):
    status = 507
    code = "storage_full"


def media_key(sha256: str, ext: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{ext}"


class MediaStore(Protocol):
    kind: str

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...
    def exists(self, key: str) -> bool: ...
    def get(self, key: str) -> bytes: ...
    def local_path(self, key: str) -> Path | None: ...
    def iter_chunks(self, key: str, chunk_size: int = 1 << 16) -> Iterator[bytes]: ...
    def keys(self) -> Iterator[str]: ...
    def delete(self, key: str) -> None: ...
    def check(self) -> dict: ...


class LocalMediaStore:
    kind = "local"

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self.path(key)
        if path.exists() and path.stat().st_size == len(data):
            return
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull("the media storage is full: nothing was saved; try again later") from None
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise Unavailable(f"the media storage cannot be written ({os.strerror(exc.errno)})") from None
            raise
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("no such file") from None

    def iter_chunks(self, key: str, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        with open(self.path(key), "rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def keys(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                yield path.relative_to(self.root).as_posix()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def check(self) -> dict:
        self.root.mkdir(parents=True, exist_ok=True)
        usage = os.statvfs(self.root)
        free = usage.f_bavail * usage.f_frsize
        return {"backend": "local", "free_bytes": free}


class S3MediaStore:
    """Any S3-compatible store through boto3 (AWS S3, MinIO, Ceph RGW, Cloudflare R2, ...)."""

    kind = "s3"

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str = "", region: str = "",
                 access_key: str = "", secret_key: str = "", create_bucket: bool = False) -> None:
        if not bucket:
            raise Unavailable("media_backend is s3 but TOWNSQUARE_MEDIA_S3_BUCKET is not set")
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        kwargs = {"region_name": region or None, "endpoint_url": endpoint_url or None,
                  "config": Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})}
        if access_key:
            kwargs.update(aws_access_key_id=access_key, aws_secret_access_key=secret_key)
        self.client = boto3.client("s3", **kwargs)
        if create_bucket:
            self._create_bucket(region)

    def _create_bucket(self, region: str) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception:
            args = {"Bucket": self.bucket}
            if region and region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": region}
            self._call(self.client.create_bucket, **args)

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _call(self, fn, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFound("no such file") from None
            if code in ("EntityTooLarge", "QuotaExceeded", "InsufficientStorage", "XMinioStorageFull"):
                raise StorageFull("the media storage is full: nothing was saved; try again later") from None
            raise Unavailable(f"the media storage refused the request ({code or 'error'})") from None
        except BotoCoreError as exc:
            raise Unavailable(f"the media storage is unavailable ({type(exc).__name__})") from None

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._call(self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data,
                   ContentType=content_type)

    def exists(self, key: str) -> bool:
        try:
            self._call(self.client.head_object, Bucket=self.bucket, Key=self._key(key))
            return True
        except NotFound:
            return False

    def local_path(self, key: str) -> Path | None:
        return None

    def get(self, key: str) -> bytes:
        return self._call(self.client.get_object, Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def iter_chunks(self, key: str, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        body = self._call(self.client.get_object, Bucket=self.bucket, Key=self._key(key))["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def keys(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix):]

    def delete(self, key: str) -> None:
        self._call(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def check(self) -> dict:
        self._call(self.client.head_bucket, Bucket=self.bucket)
        return {"backend": "s3", "bucket": self.bucket}


def as_store(where: MediaStore | str | os.PathLike) -> MediaStore:
    """A store, or a local folder made into one (callers that still pass ``settings.media_dir``)."""
    if isinstance(where, str | os.PathLike):
        return LocalMediaStore(where)
    return where


def from_settings(settings) -> MediaStore:
    backend = (settings.media_backend or "local").lower()
    if backend == "local":
        return LocalMediaStore(settings.media_dir)
    if backend == "s3":
        return _s3_store(settings.media_s3_bucket, settings.media_s3_prefix, settings.media_s3_endpoint_url,
                         settings.media_s3_region, settings.media_s3_access_key, settings.media_s3_secret_key,
                         settings.media_s3_create_bucket)
    raise Unavailable(f"unknown media_backend {backend!r} (use 'local' or 's3')")


@functools.lru_cache(maxsize=8)
def _s3_store(bucket, prefix, endpoint_url, region, access_key, secret_key, create_bucket) -> S3MediaStore:
    return S3MediaStore(bucket, prefix=prefix, endpoint_url=endpoint_url, region=region, access_key=access_key,
                        secret_key=secret_key, create_bucket=create_bucket)

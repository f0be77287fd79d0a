"""A real S3 client against hostkey-emu's S3 endpoint (run by tests/api/s3.rs).

Environment: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY; the account has a bucket
`boto-first`. Exits non-zero (with a traceback) on the first failed check; prints
`boto3 ok` at the end. Leaves `kept/by-boto3.txt` (15 bytes) in `boto-first`.
"""
import hashlib
import io
import os
import urllib.error
import urllib.request

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError


def client(secret):
    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            # Checksums only where S3 requires them (no aws-chunked trailers).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def code(e):
    return e.response["Error"]["Code"]


s3 = client(os.environ["S3_SECRET_KEY"])

names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
assert names == ["boto-first"], names

s3.create_bucket(Bucket="boto-second")
s3.head_bucket(Bucket="boto-second")
try:
    s3.create_bucket(Bucket="boto-second")
    raise AssertionError("a bucket created twice")
except ClientError as e:
    assert code(e) == "BucketAlreadyOwnedByYou", e

put = s3.put_object(Bucket="boto-second", Key="a/one.txt", Body=b"first object", ContentType="text/plain")
assert put["ETag"] == '"%s"' % hashlib.md5(b"first object").hexdigest(), put["ETag"]
for key in ["a/two.txt", "b/three.txt", "top.txt"]:
    s3.put_object(Bucket="boto-second", Key=key, Body=key.encode())

got = s3.get_object(Bucket="boto-second", Key="a/one.txt")
assert got["Body"].read() == b"first object"
assert got["ContentType"] == "text/plain", got["ContentType"]
head = s3.head_object(Bucket="boto-second", Key="a/one.txt")
assert head["ContentLength"] == 12, head

# CopyObject (what `aws s3 mv` and `cp s3://... s3://...` do) and a presigned URL that a
# plain HTTP client follows.
s3.copy_object(Bucket="boto-first", Key="copied/one.txt", CopySource={"Bucket": "boto-second", "Key": "a/one.txt"})
copied = s3.get_object(Bucket="boto-first", Key="copied/one.txt")
assert copied["Body"].read() == b"first object" and copied["ContentType"] == "text/plain", copied
url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto-first", "Key": "copied/one.txt"}, ExpiresIn=300)
assert urllib.request.urlopen(url).read() == b"first object"
try:
    urllib.request.urlopen(url.replace("Signature=", "Signature=0"))
    raise AssertionError("a tampered presigned URL was followed")
except urllib.error.HTTPError as e:
    assert e.code == 403, e
s3.delete_object(Bucket="boto-first", Key="copied/one.txt")

listed = s3.list_objects_v2(Bucket="boto-second", Delimiter="/")
assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["a/", "b/"], listed
assert [o["Key"] for o in listed["Contents"]] == ["top.txt"], listed

keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="boto-second", PaginationConfig={"PageSize": 1}):
    keys += [o["Key"] for o in page.get("Contents", [])]
assert keys == ["a/one.txt", "a/two.txt", "b/three.txt", "top.txt"], keys
v1 = s3.list_objects(Bucket="boto-second", Prefix="a/")
assert [o["Key"] for o in v1["Contents"]] == ["a/one.txt", "a/two.txt"], v1

try:
    s3.get_object(Bucket="boto-second", Key="missing")
    raise AssertionError("a missing key was found")
except ClientError as e:
    assert code(e) == "NoSuchKey", e

try:
    s3.delete_bucket(Bucket="boto-second")
    raise AssertionError("a bucket with objects was deleted")
except ClientError as e:
    assert code(e) == "BucketNotEmpty", e

s3.delete_object(Bucket="boto-second", Key="top.txt")
gone = s3.delete_objects(
    Bucket="boto-second",
    Delete={"Objects": [{"Key": k} for k in ["a/one.txt", "a/two.txt", "b/three.txt"]]},
)
assert len(gone["Deleted"]) == 3, gone
assert s3.list_objects_v2(Bucket="boto-second")["KeyCount"] == 0
s3.delete_bucket(Bucket="boto-second")

try:
    client("wrong-secret-wrong-secret-wrong-secret00").list_buckets()
    raise AssertionError("a wrong secret was accepted")
except ClientError as e:
    assert code(e) == "SignatureDoesNotMatch", e

# A multipart upload, as boto3 does it for large files (three 5 MiB-ish parts).

big = os.urandom(11 * 1024 * 1024)
s3.upload_fileobj(
    io.BytesIO(big),
    "boto-first",
    "big/eleven.bin",
    Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024),
)
got = s3.get_object(Bucket="boto-first", Key="big/eleven.bin")
assert got["ContentLength"] == len(big), got["ContentLength"]
assert got["Body"].read() == big
assert got["ETag"].endswith('-3"'), got["ETag"]
started = s3.create_multipart_upload(Bucket="boto-first", Key="big/aborted.bin")
s3.upload_part(Bucket="boto-first", Key="big/aborted.bin", UploadId=started["UploadId"], PartNumber=1, Body=b"x" * 10)
try:
    s3.complete_multipart_upload(
        Bucket="boto-first",
        Key="big/aborted.bin",
        UploadId=started["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]},
    )
    raise AssertionError("a part with a wrong ETag was accepted")
except ClientError as e:
    assert code(e) == "InvalidPart", e
s3.abort_multipart_upload(Bucket="boto-first", Key="big/aborted.bin", UploadId=started["UploadId"])
try:
    s3.upload_part(Bucket="boto-first", Key="big/aborted.bin", UploadId=started["UploadId"], PartNumber=2, Body=b"y")
    raise AssertionError("a part of an aborted upload was accepted")
except ClientError as e:
    assert code(e) == "NoSuchUpload", e
part = s3.get_object(Bucket="boto-first", Key="big/eleven.bin", Range="bytes=5-9")
assert part["ContentRange"] == "bytes 5-9/%d" % len(big), part["ContentRange"]
assert part["Body"].read() == big[5:10]
# A large download: boto3 fetches it in ranged GETs.
out = io.BytesIO()
s3.download_fileobj(
    "boto-first",
    "big/eleven.bin",
    out,
    Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024),
)
assert out.getvalue() == big
s3.delete_object(Bucket="boto-first", Key="big/eleven.bin")

s3.put_object(Bucket="boto-first", Key="kept/by-boto3.txt", Body=b"kept for get_fi")
print("boto3 ok")

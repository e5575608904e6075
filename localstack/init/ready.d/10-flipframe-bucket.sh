#!/usr/bin/env bash
# LocalStack init hook (ready stage): the development bucket flipframe uses
# with FLIPFRAME_STORAGE=s3://flipframe-dev/dev.
set -euo pipefail
awslocal s3api head-bucket --bucket flipframe-dev 2>/dev/null || awslocal s3 mb s3://flipframe-dev

#!/usr/bin/env bash
# Exits 0 when a Docker engine answers (DOCKER_HOST or the default socket).
command -v docker >/dev/null 2>&1 && timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1

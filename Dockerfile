# One image for every role of Salient: the coordinator, the workers, and the one-shot commands.
#
#   docker build -t salient .
#   docker run --rm -p 8080:8080 -e SALIENT_STORAGE=... -e SALIENT_BLOB=... salient     # serve --role all
#   docker run --rm salient serve --role worker --models resnet50 --devices cpu ...
#   docker run --rm -v "$PWD/data:/data" salient predict --model /data/m.onnx --out /data/out /data/images
#
# The .NET 10 images are Ubuntu 24.04 (noble); the tags name it so that the apt package names
# below keep matching. See deploy/README.md and docs/deployment.md.

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/ src/
RUN dotnet publish src/Salient.Cli -c Release --nologo -o /app

# aspnet, not runtime: the coordinator and the workers serve HTTP (API, dashboard, probes, metrics).
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS runtime
# Native libraries loaded at run time: OpenBLAS (GEMM), libjpeg-turbo's TurboJPEG (JPEG), libspng
# (PNG); Ubuntu names the TurboJPEG package libturbojpeg where Debian says libturbojpeg0. curl is
# for HEALTHCHECK only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0 libturbojpeg libspng0 curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
RUN ln -s /app/salient /usr/local/bin/salient \
 && mkdir -p /var/cache/salient/models \
 && chown -R "$APP_UID" /var/cache/salient
# The image's non-root user (`app`, uid 1654); numeric, so that Kubernetes' runAsNonRoot can check it.
USER $APP_UID
ENV SALIENT_LISTEN=http://0.0.0.0:8080 \
    SALIENT_MODEL_CACHE=/var/cache/salient/models
# HTTP (API, dashboard, probes, metrics), silo-to-silo, Orleans client gateway.
EXPOSE 8080 11111 30000
# For docker and compose (port 8080: change it with SALIENT_LISTEN); Kubernetes ignores it and probes /healthz and /readyz itself (helm/).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz >/dev/null || exit 1
ENTRYPOINT ["salient"]
CMD ["serve", "--role", "all"]

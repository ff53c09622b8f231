# One image for every role of Salient. Build: docker build -t salient .
# Run:   docker run --rm -v "$PWD/data:/data" salient predict --model /data/m.onnx --out /data/out /data/images

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props Cluster.sln ./
COPY src/ src/
RUN dotnet publish src/Salient.Cli -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS runtime
# Native libraries loaded at run time: OpenBLAS (GEMM), libjpeg-turbo (JPEG), libspng (PNG).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0 libturbojpeg0 libspng0 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 salient
WORKDIR /app
COPY --from=build /app .
USER salient
ENTRYPOINT ["dotnet", "/app/salient.dll"]
CMD ["--help"]

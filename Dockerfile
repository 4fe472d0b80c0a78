# The Node host (`npm start`) in a container: lora-edge's API on onnxruntime-node, the registry in
# /data (a SQLite file and a blob directory: mount a volume; to share adapters between replicas,
# mount shared storage there, see the README).
#
#   docker build -t lora-edge .
#   docker run -p 8787:8787 -e ADMIN_TOKEN=… -v lora-edge-data:/data lora-edge                 # models/smollm2-135m
#   docker run -p 8787:8787 -e ADMIN_TOKEN=… lora-edge --model models/demo                     # the embedded demo

# Stage 1: the whole toolchain, to build the default model package once (skipped where this
# checkout has no `model:smollm2` script yet).
FROM node:20-bookworm-slim AS model
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN if npm run | grep -q "model:smollm2"; then npm run model:smollm2; fi

# Stage 2: what serving needs. npm ci without the Worker's toolchain (wrangler, workerd, vitest)
# and without install scripts: onnxruntime-node's npm package holds its CPU binaries already (its
# script only fetches CUDA extras).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY --from=model /app/models ./models

ENV HOST=0.0.0.0 PORT=8787 LORA_EDGE_DATA=/data
VOLUME ["/data"]
EXPOSE 8787
# node itself is PID 1 and gets SIGTERM: the server finishes requests in flight (LORA_EDGE_GRACE_MS)
ENTRYPOINT ["node", "--import", "tsx", "src/node/main.ts"]

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { OutputTail, exited, findOnPath, runCommand, stopChild } from './processes.js';
import type { LocalServer, ProvisionLog } from './types.js';

const LAUNCHER_CLASS = 'EmbeddedMongo';
const START_TIMEOUT_MS = 60_000;

export interface EmbeddedOptions {
  projectRoot: string;
  /** `memory` for tests; `file` keeps the data in an H2 file. */
  storage: 'memory' | 'file';
  /** The H2 file for `storage: 'file'`. */
  file?: string;
  /** Where the compiled launcher and its classpath are cached. */
  cacheDir: string;
  port?: number;
  /** Stop when our stdin closes (default). A test that impersonates `mongod` turns this off. */
  watchStdin?: boolean;
  log: ProvisionLog;
}

/** What is missing for the embedded server, or null when Java and Maven are both there. */
export function embeddedPrerequisiteProblem(): string | null {
  const missing = ['java', 'javac', 'mvn'].filter((tool) => findOnPath(tool) === null);
  return missing.length === 0 ? null : `${missing.join(', ')} not found on PATH`;
}

/**
 * Compiles the launcher once per version of its sources: Maven resolves the pinned jars (downloading them from
 * Maven Central on the first run), javac compiles the launcher. Both land in a folder named by the sources' hash,
 * written under a temporary name and renamed, so concurrent first runs cannot see half a build.
 */
export async function ensureLauncherBuilt(projectRoot: string, cacheDir: string, log: ProvisionLog): Promise<string> {
  const toolDir = path.join(projectRoot, 'tools', 'mongo-java-server');
  const pom = path.join(toolDir, 'pom.xml');
  const source = path.join(toolDir, 'src', `${LAUNCHER_CLASS}.java`);
  const hash = createHash('sha256').update(readFileSync(pom)).update(readFileSync(source)).digest('hex').slice(0, 16);
  const buildDir = path.join(cacheDir, hash);
  const cached = readClasspath(buildDir);
  if (cached) return cached;

  mkdirSync(cacheDir, { recursive: true });
  const tmpDir = `${buildDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(path.join(tmpDir, 'classes'), { recursive: true });
  try {
    log('info', 'preparing the embedded MongoDB (mongo-java-server): resolving jars with Maven, first run only');
    const classpathFile = path.join(tmpDir, 'classpath.txt');
    const mvn = await runCommand('mvn', ['-q', '-B', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], {
      cwd: toolDir,
    });
    if (mvn.code !== 0 || !existsSync(classpathFile)) {
      throw new Error(`mvn could not resolve mongo-java-server (exit ${mvn.code}):\n${mvn.output}`);
    }
    const classpath = readFileSync(classpathFile, 'utf8').trim();
    const javac = await runCommand('javac', ['-d', path.join(tmpDir, 'classes'), '-cp', classpath, source]);
    if (javac.code !== 0) throw new Error(`javac failed on ${source}:\n${javac.output}`);
    writeFileSync(path.join(tmpDir, 'ready'), new Date().toISOString());
    try {
      renameSync(tmpDir, buildDir);
    } catch {
      // another process finished the same build first: use theirs
      rmSync(tmpDir, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  }
  const built = readClasspath(buildDir);
  if (!built) throw new Error(`the embedded MongoDB build in ${buildDir} is incomplete`);
  return built;
}

function readClasspath(buildDir: string): string | null {
  if (!existsSync(path.join(buildDir, 'ready'))) return null;
  const jars = readFileSync(path.join(buildDir, 'classpath.txt'), 'utf8').trim();
  if (!jars.split(path.delimiter).every((jar) => existsSync(jar))) return null;
  return [path.join(buildDir, 'classes'), jars].join(path.delimiter);
}

/** Starts mongo-java-server on a free loopback port and resolves once it accepts connections. */
export async function startEmbedded(options: EmbeddedOptions): Promise<LocalServer> {
  const classpath = await ensureLauncherBuilt(options.projectRoot, options.cacheDir, options.log);
  const args = [
    '-XX:+UseSerialGC',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-Dorg.slf4j.simpleLogger.logFile=System.err',
    '-cp',
    classpath,
    LAUNCHER_CLASS,
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    '--watch-stdin',
    String(options.watchStdin ?? true),
  ];
  if (options.storage === 'file') {
    if (!options.file) throw new Error('startEmbedded: storage "file" needs a file');
    mkdirSync(path.dirname(options.file), { recursive: true });
    args.push('--backend', 'h2', '--file', options.file);
  } else {
    args.push('--backend', 'memory');
  }

  // stdin stays an open pipe for the server's whole life: its end is the server's signal to stop. It runs in a
  // process group of its own, so a terminal's Ctrl-C (SIGINT to our whole group) reaches only us, and the server
  // stays up until we have finished the requests in flight and close the pipe.
  const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const stderr = new OutputTail();
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the embedded MongoDB did not start within ${START_TIMEOUT_MS / 1000}s:\n${stderr}`));
    }, START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        const event = JSON.parse(line) as { event?: string; port?: number };
        if (event.event === 'listening' && typeof event.port === 'number') {
          clearTimeout(timer);
          resolve(event.port);
        }
      } catch {
        // not our status line
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run java: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the embedded MongoDB exited before listening (code ${code}, signal ${signal}):\n${stderr}`));
    });
  });

  let stopping = false;
  child.on('exit', (code, signal) => {
    if (!stopping) options.log('error', `the embedded MongoDB exited unexpectedly (code ${code}, signal ${signal}): ${stderr}`);
  });
  return {
    url: `mongodb://127.0.0.1:${port}/`,
    pid: child.pid,
    exited: exited(child),
    async stop() {
      stopping = true;
      await stopChild(child);
    },
  };
}

/** Where provisioning reports progress; wired to the service logger (or stderr in tests). */
export type ProvisionLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** A database server started by this project, with the means to stop it. */
export interface LocalServer {
  url: string;
  pid: number | undefined;
  /** Resolves when the server process has ended, for whatever reason (stop() included). */
  exited: Promise<void>;
  stop(): Promise<void>;
}

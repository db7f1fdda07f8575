/** Where provisioning reports progress; wired to the service logger (or stderr in tests). */
export type ProvisionLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** A database server started by this project, with the means to stop it. */
export interface LocalServer {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

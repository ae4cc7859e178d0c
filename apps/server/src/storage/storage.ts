import { type Kysely, sql } from 'kysely';
import { type Connection, connect } from '../db/connect.js';
import type { ModeWarning } from '../db/file-modes.js';
import { migrateToLatest } from '../db/migrations.js';
import type { Dialect } from '../db/schema.js';
import { AccessKeyStore } from './access-key-store.js';
import { AccountStore } from './account-store.js';
import { ConfigurationStore } from './configuration-store.js';
import { FindingStore } from './finding-store.js';
import { type StorageEvents, type StoreHandle, storeHandle } from './handle.js';
import { SignInStore } from './sign-in-store.js';
import { PROCEDURES } from './sqlite-procedures.js';
import { TaskStore } from './task-store.js';
import { TaskSummaryStore } from './task-summary-store.js';
import { UploadStore } from './upload-store.js';
import { VerificationStore } from './verification-store.js';
import { WebhookStore } from './webhook-store.js';

export {
  AccessKeyLimitReached,
  type AccessKeyListing,
  type AccessKeyRow,
  type AccessKeyStore,
} from './access-key-store.js';
export type { AccountStore, MembershipRow, PrincipalRow, ProjectRow, UserRow } from './account-store.js';
export type { ConfigurationStore } from './configuration-store.js';
export type { DirectoryRun, FindingDirectory, FindingRow, FindingStore } from './finding-store.js';
export { type StorageEvents, UniqueViolation } from './handle.js';
export type { SessionRow, SignInStore } from './sign-in-store.js';
export type { TaskStore } from './task-store.js';
export type { RunSummary, TaskSummaryRow, TaskSummaryStore, UploadSummary } from './task-summary-store.js';
export type { NewUpload, UploadOutcome, UploadStore } from './upload-store.js';
export type { VerificationStore } from './verification-store.js';
export type { WebhookDelivery, WebhookRow, WebhookStore } from './webhook-store.js';

/**
 * The server's storage: one database handle (the same Kysely queries on
 * SQLite and on PostgreSQL) shared by one store per aggregate, each given
 * only to the services that need it. It knows nothing of HTTP or of
 * permissions; every driver error becomes a `StorageError`.
 */
export class Storage {
  readonly dialect: Dialect;
  readonly location: string;
  /** What was readable by other users at opening and was tightened (see `secureDataFiles`). */
  readonly tightened: ModeWarning[];
  readonly accounts: AccountStore;
  readonly accessKeys: AccessKeyStore;
  readonly signIn: SignInStore;
  readonly tasks: TaskStore;
  readonly summaries: TaskSummaryStore;
  readonly uploads: UploadStore;
  readonly findings: FindingStore;
  readonly configurations: ConfigurationStore;
  readonly verifications: VerificationStore;
  readonly webhooks: WebhookStore;
  private readonly handle: StoreHandle;

  private constructor(connection: Connection, events?: StorageEvents) {
    this.dialect = connection.dialect;
    this.location = connection.location;
    this.tightened = connection.tightened;
    this.handle = storeHandle(connection.db, connection.dialect, events, connection.sqlite);
    this.accounts = new AccountStore(this.handle);
    this.accessKeys = new AccessKeyStore(this.handle);
    this.signIn = new SignInStore(this.handle);
    this.tasks = new TaskStore(this.handle);
    this.summaries = new TaskSummaryStore(this.handle);
    this.uploads = new UploadStore(this.handle);
    this.findings = new FindingStore(this.handle);
    this.configurations = new ConfigurationStore(this.handle);
    this.verifications = new VerificationStore(this.handle);
    this.webhooks = new WebhookStore(this.handle);
  }

  /** Opens the configured database and brings its schema up to date; `events` hear what it does (metrics). */
  static async open(options: Parameters<typeof connect>[0] & { events?: StorageEvents }): Promise<Storage> {
    const storage = new Storage(await connect({ ...options, procedures: PROCEDURES }), options.events);
    const { db, dialect } = storage.handle;
    try {
      await storage.handle.run('migrate', () => migrateToLatest(db as Kysely<unknown>, dialect));
    } catch (error) {
      await storage.close();
      throw error;
    }
    return storage;
  }

  /** Answers when the database answers a trivial query. */
  async ping(): Promise<void> {
    await this.handle.run('ping', () => sql`select 1`.execute(this.handle.db));
  }

  async close(): Promise<void> {
    await this.handle.db.destroy();
  }
}

import { Command, CommanderError } from 'commander';
import { AGENT_VERSION } from '../version.js';
import { registerConfig } from './config.js';
import { registerDaemon } from './daemon.js';
import { registerFlush } from './flush.js';
import { registerManifest } from './manifest.js';
import { registerResyncList } from './resync-list.js';
import { registerRun } from './run.js';
import { EXIT, OutputError, say, UsageError } from './shared.js';
import { registerSpool } from './spool.js';
import { killIfStuck } from './stall.js';
import { registerUpload } from './upload.js';
import { registerVerify } from './verify.js';

export function buildProgram(): Command {
  const program = new Command()
    .name('sms-agent')
    .description(
      'Verifies that a migration copied every file: compares a source directory with its target and uploads the verdict to an SMS server.',
    )
    .version(AGENT_VERSION)
    .showHelpAfterError('(run sms-agent --help for usage)')
    .exitOverride();

  registerVerify(program);
  registerRun(program);
  registerDaemon(program);
  registerManifest(program);
  registerUpload(program);
  registerFlush(program);
  registerSpool(program);
  registerResyncList(program);
  registerConfig(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0
      process.exitCode = error.exitCode === 0 ? 0 : EXIT.error;
      return;
    }
    if (error instanceof OutputError) {
      process.exitCode = EXIT.error;
      return;
    }
    // errors the user can fix: their message says what to do, no stack
    const expected = [
      'StallError',
      'VerifyError',
      'UploadConfigError',
      'ResultFileError',
      'ManifestError',
      'SpoolError',
      'ExcludeError',
      'RemoteError',
      'ReportFileError',
      'TaskConfigurationError',
    ];
    if (error instanceof UsageError || (error instanceof Error && expected.includes(error.name))) {
      say(`sms-agent: ${error.message}`);
      process.exitCode = EXIT.error;
      return;
    }
    // Node's own messages already start with their code (`EACCES: permission denied, open '…'`): say it once
    const code = (error as NodeJS.ErrnoException).code;
    const message = error instanceof Error ? error.message : String(error);
    say(`sms-agent: ${code && !message.startsWith(`${code}:`) ? `${code}: ` : ''}${message}`);
    process.exitCode = EXIT.error;
  } finally {
    // a run stopped by --io-timeout may have left a thread inside the hung mount, which an exit would wait for
    killIfStuck(say);
  }
}

import { Actions, type ConfigurationResponse, type UpdateConfigurationRequest } from '@sms/domain';
import type { ConfigurationStore } from '../storage/storage.js';
import type { Principal } from './auth-service.js';
import type { TaskService } from './task-service.js';

/** A task's agent configuration (configuration-setting): admins write it, every role reads it. */
export class ConfigurationService {
  private readonly configurations: ConfigurationStore;

  constructor(
    stores: { configurations: ConfigurationStore },
    private readonly tasks: TaskService,
    private readonly clock: () => number = Date.now,
  ) {
    this.configurations = stores.configurations;
  }

  async get(principal: Principal, taskId: string): Promise<ConfigurationResponse> {
    await this.tasks.find(principal, taskId, Actions.getConfiguration);
    return { configurations: await this.configurations.configuration(taskId) };
  }

  /** Sets the given keys (validated by the route with the domain's schemas); `""` removes one. */
  /** Throws as `update` would when the principal may not change the task's configuration. */
  async mayUpdate(principal: Principal, taskId: string): Promise<void> {
    await this.tasks.find(principal, taskId, Actions.updateConfiguration);
  }

  async update(principal: Principal, taskId: string, request: UpdateConfigurationRequest): Promise<void> {
    await this.tasks.find(principal, taskId, Actions.updateConfiguration);
    await this.configurations.update(taskId, request.configurations, this.clock());
  }
}

import { describe, expect, it } from 'vitest';
import { buildJsonSchemas } from './json-schema.js';

describe('buildJsonSchemas', () => {
  it('carries the exact limits of the page into the generated JSON Schema', () => {
    const schemas = buildJsonSchemas();
    const request = schemas.UpdateConsistencyResultRequest as {
      properties: {
        consistency_result: {
          maxItems: number;
          items: { properties: Record<string, object>; required: string[] };
        };
      };
      required?: string[];
    };
    const list = request.properties.consistency_result;
    expect(list.maxItems).toBe(30);
    expect(request.required ?? []).not.toContain('consistency_result');
    expect(list.items.required).toEqual([
      'dir_check',
      'num_total_files',
      'num_different_files',
      'num_target_miss_files',
      'num_target_more_files',
    ]);
    expect(list.items.properties.dir_check).toEqual({ type: 'string', maxLength: 1024 });
    expect(list.items.properties.num_total_files).toEqual({
      type: 'integer',
      minimum: 0,
      maximum: 1_000_000,
    });
  });

  it('produces a schema for every body without the draft marker', () => {
    for (const [name, schema] of Object.entries(buildJsonSchemas())) {
      // a body is an object, or one of several objects (FinishRequest: done or failed)
      const branches = 'oneOf' in schema ? (schema.oneOf as object[]) : [schema];
      expect(branches.length, name).toBeGreaterThan(0);
      for (const branch of branches) expect(branch, name).toHaveProperty('type', 'object');
      expect(schema, name).not.toHaveProperty('$schema');
    }
  });
});

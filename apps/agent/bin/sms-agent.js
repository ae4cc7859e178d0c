#!/usr/bin/env node
// The bundle (scripts/bundle.mjs): the same file the published package runs.
import '../dist/sms-agent.js';

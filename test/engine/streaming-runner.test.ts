import { describe, expect, it } from 'vitest';
import { streamingRunner } from '../../engine/index.ts';
import { runConformanceSuite } from './conformance-suite.ts';
import { runPropertySuite } from './property-suite.ts';

// The same goldens as inline and local: every map and reduce task is a child process running the job's
// stage bundle over the streaming protocol, with the shuffle sorted by key text as a cluster sorts it.
runConformanceSuite(() => streamingRunner({ workers: 2 }), 'streaming, 2 task processes');
runPropertySuite(() => streamingRunner({ workers: 2 }), 'streaming, 2 task processes');

import { CONFIG_FILE_NAME, SCHEMA_REFERENCE } from './schema.js';

/*
 * The file `config --init` writes: every setting at its built-in default, with "//" comments (JSON
 * has none; the validator and the schema accept "//" in every object), and no route or fixture
 * yet, so writing it changes nothing until it is edited.
 */
export function starterConfig(): string {
  const starter = {
    $schema: SCHEMA_REFERENCE,
    '//': [
      `${CONFIG_FILE_NAME}: settings for facesign-webhooks in this project.`,
      'Precedence: a flag beats the environment, which beats this file, which beats the built-in default.',
      'Run `npx facesign-webhooks config` to see every setting and where it came from.',
    ],
    to: 'localhost:3000/webhooks/facesign',
    secretEnv: 'FACESIGN_WEBHOOK_SECRET',
    timeouts: {
      '//': 'milliseconds, or a duration with a unit: 500ms, 10s, 2m',
      delivery: '10s',
      forward: '10s',
    },
    retry: {
      '//': "retry-sim's delays before each retry (FaceSign's documented schedule)",
      schedule: ['5s', '30s', '2m', '10m', '1h'],
    },
    listen: { port: 3000, path: '/webhooks/facesign' },
    routes: {
      '//': [
        'event type or glob -> where its deliveries go, in the shorthand of --to; e.g.',
        '"session.verified": "localhost:4000/hooks/verified", "session.*": ":3000"',
        'an exact type beats a glob, a longer glob a shorter one; --to or $FACESIGN_WEBHOOKS_URL overrides all routes',
      ],
    },
    fixtures: {
      '//': 'per event type, a partial event merged into every built event of it; e.g.',
      $comment: '"session.verified": { "data": { "metadata": { "plan": "pro" } } }',
    },
  };
  return `${JSON.stringify(starter, null, 2)}\n`;
}

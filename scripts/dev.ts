// `npm run dev -- <args>`: the CLI from source, as the bin runs the bundle.
import { main } from '../src/cli.js';

await main();

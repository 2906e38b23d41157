import type { IncomingMessage, ServerResponse } from 'node:http';
import { displayUrl } from '../delivery/target.js';
import { captureFileName, type ReceivedCapture } from './capture.js';
import {
  type InspectorContext,
  createToken,
  hasToken,
  isJsonType,
  readJsonBody,
  send,
  sendError,
  sendJson,
  SECURITY_HEADERS,
  TOKEN_HEADER,
} from './inspector-http.js';
import { InspectorStream } from './inspector-stream.js';
import { urlHost } from './host-guard.js';
import { targetPath } from './judge.js';
import type { History } from './ledger.js';
import { drained } from './respond.js';
import { ACTIONS_PATH, DELIVERIES_PATH, RECEIVER_API_PREFIX, STREAM_PATH, UI_PATH } from './settings.js';
import type { ReceiverOptions, ReceiverSettings } from './settings.js';
import { loadUiAssets, pageFor } from './ui-assets.js';

type Actions = typeof import('./inspector-actions.js');
/** The actions reach undici, the verify diagnosis and chalk: loaded on the first one, never at start-up. */
let actions: Promise<Actions> | undefined;
const loadActions = () => (actions ??= import('./inspector-actions.js'));

const ASSETS: Record<string, { file: 'css' | 'js'; type: string }> = {
  [`${UI_PATH}inspector.css`]: { file: 'css', type: 'text/css; charset=utf-8' },
  [`${UI_PATH}inspector.js`]: { file: 'js', type: 'text/javascript; charset=utf-8' },
};
const ONE_CAPTURE = new RegExp(`^${DELIVERIES_PATH}/(\\d{1,15})(/curl)?$`);

/**
 * The inspector's part of `/__facesign/*` (and the page at `/`), behind the receiver's Host guard:
 * the page and its files, the event stream, one capture as `--save` writes it, a curl command for
 * it, and the actions (POST with the run's token). The page, stream and actions exist only with `ui`.
 */
export class Inspector {
  readonly token = createToken();
  readonly stream: InspectorStream;
  private readonly stopActions = new AbortController();
  private assetsWarned = false;

  private readonly ctx: InspectorContext;
  readonly ui: boolean;

  constructor(
    history: History<ReceivedCapture>,
    settings: ReceiverSettings,
    port: () => number,
    options: Pick<ReceiverOptions, 'onWarning'>,
  ) {
    this.ui = settings.ui;
    this.ctx = {
      history,
      settings,
      webhookUrl: () => `http://${urlHost(settings.host)}:${port()}${settings.path}`,
      warn: (message) => options.onWarning?.(message),
    };
    this.stream = new InspectorStream(history);
  }

  /** True for a GET of the site root, where the page is (unless the webhook path is `/` itself). */
  servesRoot(req: IncomingMessage): boolean {
    if (!this.ui || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    return targetPath(req.url ?? '') === '/' && this.ctx.settings.path !== '/';
  }

  /** The page's URL on `base` (`http://host:port`), or undefined without the page. */
  pageUrl(base: string): string | undefined {
    if (!this.ui) return undefined;
    return `${base}${this.ctx.settings.path === '/' ? UI_PATH : '/'}`;
  }

  /** Called for every recorded capture, in order: costs nothing with no browser connected. */
  recorded(capture: ReceivedCapture): void {
    this.stream.recorded(capture);
  }

  close(): void {
    this.stream.close();
    this.stopActions.abort();
  }

  /** Serves `path` when it is the inspector's; false when it is not (the caller answers 404). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const capture = ONE_CAPTURE.exec(path);
    if (capture) {
      this.onlyGet(req, res, () => this.serveCapture(req, res, Number(capture[1]), capture[2] !== undefined));
      return true;
    }
    if (!this.ui) return false;
    if (path === '/' || path === RECEIVER_API_PREFIX + '/ui' || path === UI_PATH || path === `${UI_PATH}index.html`) {
      this.onlyGet(req, res, () => this.servePage(res));
      return true;
    }
    const asset = ASSETS[path];
    if (asset !== undefined) {
      this.onlyGet(req, res, () => this.serveAsset(res, asset));
      return true;
    }
    if (path === STREAM_PATH) {
      this.onlyGet(req, res, () => this.stream.connect(req, res));
      return true;
    }
    if (path.startsWith(`${ACTIONS_PATH}/`)) {
      this.serveAction(req, res, path.slice(ACTIONS_PATH.length + 1));
      return true;
    }
    return false;
  }

  private onlyGet(req: IncomingMessage, res: ServerResponse, serve: () => void): void {
    req.resume();
    if (req.method === 'GET' || req.method === 'HEAD') return serve();
    sendError(res, 405, `method ${req.method ?? ''} not allowed here: GET it`, { Allow: 'GET, HEAD' });
  }

  private assetsFailed(res: ServerResponse, err: unknown): void {
    const why = `the inspector page's files could not be read (ui/ in the package): ${(err as Error).message}`;
    if (!this.assetsWarned) {
      this.assetsWarned = true;
      this.ctx.warn(why);
    }
    sendError(res, 500, why);
  }

  private servePage(res: ServerResponse): void {
    loadUiAssets().then(
      (assets) =>
        send(
          res,
          200,
          'text/html; charset=utf-8',
          pageFor(assets.html, {
            token: this.token,
            webhookUrl: this.ctx.webhookUrl(),
            forwardTo: this.ctx.settings.forwardTo !== undefined ? displayUrl(this.ctx.settings.forwardTo) : '',
          }),
        ),
      (err: unknown) => this.assetsFailed(res, err),
    );
  }

  private serveAsset(res: ServerResponse, asset: { file: 'css' | 'js'; type: string }): void {
    loadUiAssets().then(
      (assets) => send(res, 200, asset.type, assets[asset.file]),
      (err: unknown) => this.assetsFailed(res, err),
    );
  }

  /** One capture, byte for byte the file `--save` writes for it (or a curl command re-sending it). */
  private serveCapture(req: IncomingMessage, res: ServerResponse, seq: number, curl: boolean): void {
    const capture = this.ctx.history.get(seq);
    if (capture === undefined) return sendError(res, 404, `delivery ${seq} is not in the history`);
    if (curl) {
      const url = this.ctx.settings.forwardTo ?? this.ctx.webhookUrl();
      loadActions()
        .then((a) => {
          const made = a.curlFor(capture, url);
          if (typeof made !== 'string') return sendError(res, 409, made.error);
          send(res, 200, 'text/plain; charset=utf-8', `${made}\n`);
        })
        .catch((err: unknown) => sendError(res, 500, `internal error: ${(err as Error).message}`));
      return;
    }
    const download = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('download');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      ...(download === '1' || download === 'true'
        ? { 'Content-Disposition': `attachment; filename="${captureFileName(capture)}"` }
        : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    writeCaptureJson(res, capture).catch(() => res.destroy());
  }

  /** `POST /__facesign/actions/<name>`: the run's token, a JSON body of at most 64 KiB. */
  private serveAction(req: IncomingMessage, res: ServerResponse, name: string): void {
    const refuse = (status: number, message: string, extra?: Record<string, string>) => {
      req.resume();
      sendError(res, status, message, extra);
    };
    if (name !== 'replay' && name !== 'verify') return refuse(404, `no action ${JSON.stringify(name.slice(0, 40))}`);
    if (req.method !== 'POST') return refuse(405, 'actions are POST requests', { Allow: 'POST' });
    if (!hasToken(req, this.token))
      return refuse(403, `missing or wrong ${TOKEN_HEADER} header: actions come from the inspector page only`);
    if (!isJsonType(req.headers['content-type']))
      return refuse(415, 'send the action as Content-Type: application/json');
    void readJsonBody(req).then(async (read) => {
      if (!read.ok)
        return sendError(res, read.status, read.message, read.status === 413 ? { Connection: 'close' } : {});
      try {
        const a = await loadActions();
        const context = { ...this.ctx, signal: this.stopActions.signal };
        const answer =
          name === 'replay' ? await a.replayAction(read.value, context) : a.verifyAction(read.value, context);
        sendJson(res, answer.status, answer.body);
      } catch (err) {
        this.ctx.warn(`inspector action ${name} failed: ${(err as Error).message}`);
        sendError(res, 500, `internal error: ${(err as Error).message}`);
      }
    });
  }
}

/** The capture's JSON as `--save` writes it, piece by piece, waiting for the client to read each. */
async function writeCaptureJson(res: ServerResponse, capture: ReceivedCapture): Promise<void> {
  for (const piece of capture.jsonPieces(2)) {
    if (res.destroyed) return;
    if (!res.write(piece)) await drained(res);
  }
  res.end('\n');
}

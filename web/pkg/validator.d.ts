/* tslint:disable */
/* eslint-disable */

/**
 * Checks a filter expression as `GET /Users?filter=` would.
 */
export function checkFilter(text: string): string;

/**
 * Checks a PatchOp request body as `PATCH /Users/{id}` would, without the stored user.
 */
export function checkPatch(text: string, catalogue_json?: string | null): string;

/**
 * Checks one `accounts` payload, a list of them, a string holding them, or a whole SCIM User
 * body (what `scimbox validate` takes).
 */
export function checkPayloads(text: string, catalogue_json?: string | null): string;

/**
 * Checks a SCIM User body as `POST /Users` would.
 */
export function checkUser(text: string, catalogue_json?: string | null): string;

/**
 * The validator's version, to detect a stale cached module.
 */
export function version(): string;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly checkFilter: (a: number, b: number) => [number, number];
    readonly checkPatch: (a: number, b: number, c: number, d: number) => [number, number, number, number];
    readonly checkPayloads: (a: number, b: number, c: number, d: number) => [number, number, number, number];
    readonly checkUser: (a: number, b: number, c: number, d: number) => [number, number, number, number];
    readonly version: () => [number, number];
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __externref_table_dealloc: (a: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;

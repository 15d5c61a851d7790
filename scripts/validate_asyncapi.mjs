#!/usr/bin/env node
// Validates an AsyncAPI document (default: docs/asyncapi.yaml) with the official parser, @asyncapi/parser,
// and its default rulesets. Prints every diagnostic; exits 1 when any has severity error (or the document
// cannot be parsed), 2 on usage or I/O errors. Needs `npm install` in the repository root first.
//
//   node scripts/validate_asyncapi.mjs [docs/asyncapi.yaml]
import { DiagnosticSeverity, Parser, fromFile } from '@asyncapi/parser';

const SEVERITY = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const source = process.argv[2] ?? 'docs/asyncapi.yaml';
if (process.argv.length > 3) {
  console.error('usage: node scripts/validate_asyncapi.mjs [path/to/asyncapi.yaml]');
  process.exit(2);
}

let output;
try {
  output = await fromFile(new Parser(), source).parse();
} catch (error) {
  console.error(`${source}: ${error.message}`);
  process.exit(2);
}

const { document, diagnostics } = output;
for (const diagnostic of diagnostics) {
  const line = diagnostic.range ? diagnostic.range.start.line + 1 : '?';
  const where = diagnostic.path.length ? diagnostic.path.join('.') : '(document)';
  const severity = SEVERITY[diagnostic.severity] ?? String(diagnostic.severity);
  console.error(`${source}:${line}: ${severity} [${diagnostic.code}] ${where}: ${diagnostic.message}`);
}
const errors = diagnostics.filter((diagnostic) => diagnostic.severity === DiagnosticSeverity.Error);
if (errors.length > 0 || document === undefined) {
  console.error(`${source}: invalid AsyncAPI document (${errors.length} error(s))`);
  process.exit(1);
}
console.log(
  `${source}: valid AsyncAPI ${document.version()} document: ${document.operations().length} operations, ` +
    `${document.messages().length} messages, ${diagnostics.length - errors.length} warning(s)/hint(s)`,
);

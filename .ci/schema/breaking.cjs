// `graphql-inspector diff --onComplete` handler: fails on a breaking change unless the
// `### Breaking` part of `## Unreleased` in CHANGELOG.md names its coordinate in backticks.
'use strict';
const fs = require('fs');

/// Lines for check.sh, which shows them after filtering the inspector's log.
const say = (text) => console.log(text.replace(/^/gm, '» '));

/// The schema coordinate a change is about: its path (`Type`, `Type.field`,
/// `Type.field.argument`), or for a changed root type the old root type's name.
function coordinate(change) {
  if (change.path) return change.path;
  const meta = change.meta || {};
  const old = Object.keys(meta).find((k) => /^old\w*TypeName$/.test(k));
  return old ? meta[old] : change.type;
}

/// Names in backticks under `### Breaking` within `## Unreleased`.
function listedBreaking(changelog) {
  const unreleased = changelog.split(/^## /m).find((s) => /^Unreleased\b/.test(s)) || '';
  const breaking = unreleased.split(/^### /m).find((s) => /^Breaking\b/.test(s)) || '';
  return new Set([...breaking.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]));
}

module.exports = ({ breakingChanges }) => {
  if (breakingChanges.length === 0) {
    say('breaking-change check: no breaking changes');
    return;
  }
  const path = process.env.GRIDGOV_CHANGELOG || 'CHANGELOG.md';
  const listed = listedBreaking(fs.readFileSync(path, 'utf8'));
  const unlisted = breakingChanges.filter((c) => !listed.has(coordinate(c)));
  for (const c of breakingChanges) {
    const name = coordinate(c);
    say(`  ${listed.has(name) ? 'listed in CHANGELOG' : 'NOT IN CHANGELOG '} \`${name}\`: ${c.message}`);
  }
  if (unlisted.length > 0) {
    say(
      `\nbreaking-change check failed: ${unlisted.length} breaking change(s) not named under ` +
        '`### Breaking` in `## Unreleased` of CHANGELOG.md. Name each coordinate above in ' +
        'backticks there with what clients must do, or keep the old item and mark it ' +
        '`@deprecated(reason: …)` first.',
    );
    process.exit(1);
  }
  say(
    `breaking-change check: ${breakingChanges.length} breaking change(s), all named in CHANGELOG.md`,
  );
};

// Tests that run the real command line (`bin/case-intake.js`) need the compiled code to match the
// sources; the incremental build makes this a second or two when nothing changed.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async () => {
  const root = join(__dirname, '..');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
};

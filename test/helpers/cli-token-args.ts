// The `dmzgate token create` arguments the CLI integration tests share: a climate-project token for dtn1's data
// ports, routed only, printed as JSON.
export function climateTokenArgs(dataDir: string): string[] {
  return [
    'token',
    'create',
    '--data',
    dataDir,
    '--project',
    'climate',
    '--dtn',
    'dtn1',
    '--remote',
    '192.0.2.0/24',
    '--ports',
    '50000-51000',
    '--paths',
    'routed',
    '--max-duration',
    '2h',
    '--scope',
    'transfers',
    '--json',
  ];
}

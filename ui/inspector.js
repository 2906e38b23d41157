// Placeholder for the inspector page's script (served at /__facesign/ui/inspector.js).
'use strict';

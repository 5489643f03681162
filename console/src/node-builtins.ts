// What dotenv's Node-only parts import (fs, path, os, url): the console uses
// its parse() alone, which touches none of them, so they resolve to nothing.
export default {};
